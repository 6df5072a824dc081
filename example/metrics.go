package main

import (
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// newMetrics returns the OpenTelemetry MeterProvider the guards and the
// policy cache record into, and the handler of GET /metrics that serves what
// they recorded in the Prometheus text format, through the OpenTelemetry
// Prometheus exporter. The exporter registers with a registry of the app's
// own, not the process-wide default one, so that two apps in one process (as
// in the tests) do not collide. Shut the provider down when done.
//
// The library depends on the OpenTelemetry API only; the SDK, the exporter
// and client_golang are the example's dependencies, as they would be a
// service's.
func newMetrics() (*sdkmetric.MeterProvider, http.Handler, error) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, nil, fmt.Errorf("example: prometheus exporter: %w", err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	return mp, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), nil
}

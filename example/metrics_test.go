package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape reads /metrics and returns the metric families by name.
func (ta *testApp) scrape(t *testing.T) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	got := ta.do(t, nil, credNone, "GET", "/metrics", "")
	if got.Status != 200 || !strings.HasPrefix(got.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %q", got.Status, got.Header.Get("Content-Type"))
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(got.Body)))
	if err != nil {
		t.Fatalf("/metrics is not the Prometheus text format: %v\n%s", err, got.Body)
	}
	return fams, string(got.Body)
}

// counter returns the value of the sample of fam whose labels include all of
// want, and how many samples matched.
func counter(fam *dto.MetricFamily, want map[string]string) (float64, int) {
	var v float64
	n := 0
	for _, m := range fam.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		ok := true
		for k, w := range want {
			ok = ok && labels[k] == w
		}
		if ok {
			v += m.GetCounter().GetValue()
			n++
		}
	}
	return v, n
}

// TestMetrics makes known requests and finds them in the scrape of
// /metrics: the guards' decisions by outcome, source and subject, the remote
// call latency, the remote-answer cache lookups and the gauges, as the
// OpenTelemetry Prometheus exporter names them; and no credential anywhere.
func TestMetrics(t *testing.T) {
	ta := newTestApp(t)
	alice := ta.member(t, "alice")
	docs := "/orgs/" + orgAcme.ID + "/documents"
	for range 3 {
		ta.do(t, alice, credJWT, "GET", docs, "") // allow, local
	}
	ta.do(t, alice, credJWT, "GET", "/std/orgs/"+orgGlobex.ID+"/documents", "") // refuse (tenancy), local
	ta.do(t, nil, credNone, "GET", docs, "")                                    // refuse, no credential
	ta.do(t, alice, credToken, "GET", "/me", "")                                // allow, remote
	ta.do(t, alice, credToken, "GET", "/me", "")                                // allow, cache (the remote answer reused)

	fams, text := ta.scrape(t)
	decisions := fams["stytchguard_decisions_total"]
	if decisions == nil || decisions.GetType() != dto.MetricType_COUNTER {
		t.Fatalf("no counter stytchguard_decisions_total in:\n%s", text)
	}
	for _, tc := range []struct {
		labels map[string]string
		want   float64
	}{
		{map[string]string{"stytchguard_outcome": "allow", "stytchguard_source": "local", "stytchguard_subject": "member"}, 3},
		{map[string]string{"stytchguard_outcome": "refuse", "stytchguard_source": "local", "stytchguard_subject": "member"}, 1},
		{map[string]string{"stytchguard_outcome": "refuse", "stytchguard_source": "none", "stytchguard_subject": "none"}, 1},
		{map[string]string{"stytchguard_outcome": "allow", "stytchguard_source": "remote", "stytchguard_subject": "member"}, 1},
		{map[string]string{"stytchguard_outcome": "allow", "stytchguard_source": "cache", "stytchguard_subject": "member"}, 1},
	} {
		if got, n := counter(decisions, tc.labels); got != tc.want || n != 1 {
			t.Errorf("decisions %v = %v (%d samples), want %v", tc.labels, got, n, tc.want)
		}
	}
	if d := fams["stytchguard_remote_duration_seconds"]; d == nil || d.GetType() != dto.MetricType_HISTOGRAM || d.GetMetric()[0].GetHistogram().GetSampleCount() != 1 {
		t.Errorf("stytchguard_remote_duration_seconds: want a histogram with one call, got %v", d)
	}
	if l := fams["stytchguard_cache_lookups_total"]; l == nil {
		t.Error("no stytchguard_cache_lookups_total")
	} else {
		for result, want := range map[string]float64{"miss": 1, "hit": 1} {
			if got, _ := counter(l, map[string]string{"stytchguard_cache": "remote", "stytchguard_result": result}); got != want {
				t.Errorf("remote-answer cache %s = %v, want %v", result, got, want)
			}
		}
	}
	for _, name := range []string{"stytchguard_jwks_age_seconds", "stytchguard_remote_breaker_state", "stytchguard_rbac_policy_age_seconds"} {
		if fams[name] == nil || fams[name].GetType() != dto.MetricType_GAUGE {
			t.Errorf("no gauge %s", name)
		}
	}
	for _, secret := range []string{alice.SessionJWT, alice.SessionToken, ta.Emulator.Secret} {
		if strings.Contains(text, secret) {
			t.Fatal("the scrape holds a credential or the secret")
		}
	}
}

// TestHealthz: GET /healthz is the guard's HealthHandler, ready at the first
// probe (it fetches the project policy when none is held yet, so a
// readiness probe does not wait for a first guarded request), and holds no
// secret.
func TestHealthz(t *testing.T) {
	ta := newTestApp(t)
	for _, path := range []string{"/healthz", "/std/healthz"} {
		got := ta.do(t, nil, credNone, "GET", path, "")
		var h struct {
			Ready bool `json:"ready"`
			JWKS  struct {
				Ready bool `json:"ready"`
			} `json:"jwks"`
			Policy struct {
				Held bool `json:"held"`
			} `json:"policy"`
			Fleet *struct {
				Current bool `json:"current"`
			} `json:"fleet"`
		}
		if err := json.Unmarshal(got.Body, &h); err != nil || got.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", path, got.Status, got.Body)
		}
		if !h.Ready || !h.JWKS.Ready || !h.Policy.Held || h.Fleet == nil || !h.Fleet.Current {
			t.Errorf("%s: %s", path, got.Body)
		}
		if strings.Contains(string(got.Body), ta.Emulator.Secret) {
			t.Fatalf("%s holds the project secret", path)
		}
	}
}

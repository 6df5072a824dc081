package stytchtest_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"io"
	"net/http"
	"testing"

	"github.com/stytchguard/stytchguard/internal/testkit"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// BenchmarkFloorRSASign is the floor of BenchmarkAuthenticateToken: one
// RSA-2048 PKCS#1 v1.5 signature, which every minted JWT costs.
func BenchmarkFloorRSASign(b *testing.B) {
	key := testkit.SigningKey()
	sum := sha256.Sum256([]byte("header.payload"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthenticateToken is one Authenticate round trip over loopback,
// which mints a fresh JWT.
func BenchmarkAuthenticateToken(b *testing.B) {
	srv := stytchtest.NewServer(stytchtest.Options{SigningKey: testkit.SigningKey()})
	defer srv.Close()
	token, _, err := srv.NewSession(stytchtest.SessionSpec{})
	if err != nil {
		b.Fatal(err)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	body := []byte(`{"session_token":"` + token + `"}`)
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/b2b/sessions/authenticate", bytes.NewReader(body))
		req.SetBasicAuth(srv.ProjectID, srv.Secret)
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatal(resp.Status)
		}
	}
}

// BenchmarkNewServer measures start-up with a caller-supplied key; pass
// Options.SigningKey in suites that start many servers.
func BenchmarkNewServer(b *testing.B) {
	key := testkit.SigningKey()
	b.ReportAllocs()
	for b.Loop() {
		stytchtest.NewServer(stytchtest.Options{SigningKey: key}).Close()
	}
}

// BenchmarkNewServerGeneratedKey includes generating the RSA-2048 key.
func BenchmarkNewServerGeneratedKey(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		stytchtest.NewServer(stytchtest.Options{}).Close()
	}
}

package stytchtest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// TestConcurrentUse drives every kind of mutation at once; run with -race.
func TestConcurrentUse(t *testing.T) {
	srv, clock := newServer(t, stytchtest.Options{})
	hc := httpClient(t)
	post := func(path string, body any) (int, error) {
		b, _ := json.Marshal(body)
		req, err := http.NewRequest(http.MethodPost, srv.URL+path, bytes.NewReader(b))
		if err != nil {
			return 0, err
		}
		req.SetBasicAuth(srv.ProjectID, srv.Secret)
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}

	const workers, rounds = 8, 15
	errs := make(chan error, workers*rounds*4+10)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			org := fmt.Sprintf("organization-test-%d", w%3)
			for i := range rounds {
				token, jwtStr, err := srv.NewSession(stytchtest.SessionSpec{OrganizationID: org,
					MemberID: fmt.Sprintf("member-test-%d-%d", w, i%4), Roles: []string{"editor"}})
				if err != nil {
					errs <- err
					return
				}
				for _, body := range []map[string]any{
					{"session_token": token, "session_custom_claims": map[string]any{"i": i}},
					{"session_jwt": jwtStr, "authorization_check": map[string]any{"organization_id": org, "resource_id": "stytch.self", "action": "delete"}},
				} {
					if code, err := post(pathAuthenticate, body); err != nil || code != 200 {
						errs <- fmt.Errorf("authenticate: %d %v", code, err)
					}
				}
				if _, err := srv.MintJWT(token); err != nil {
					errs <- err
				}
				if code, err := post(pathRevoke, map[string]any{"session_token": token}); err != nil || code != 200 {
					errs <- fmt.Errorf("revoke: %d %v", code, err)
				}
				srv.Calls(stytchtest.EndpointAuthenticate)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range rounds {
			srv.SetPolicy(stytchtest.DefaultPolicy())
			srv.SetOrgPolicy("organization-test-0", client.OrgPolicy{Roles: []client.Role{{RoleID: fmt.Sprint("r", i)}}})
			srv.SetFault(stytchtest.EndpointMigrate, stytchtest.Fault{Status: 500})
			srv.ClearFault(stytchtest.EndpointMigrate)
			srv.SetJWKSBody(nil)
			srv.ResetCalls()
			clock.Advance(0)
			if i == rounds/2 {
				if _, err := srv.RotateKey(); err != nil {
					errs <- err
				}
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

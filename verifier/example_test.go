package verifier_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/stytchguard/stytchguard/stytchtest"
	"github.com/stytchguard/stytchguard/verifier"
)

// Example verifies a session JWT minted by the emulator, then shows how a
// forged token is told apart from one worth refreshing.
func Example() {
	srv := stytchtest.NewServer(stytchtest.Options{})
	defer srv.Close()
	_, sessionJWT, err := srv.NewSession(stytchtest.SessionSpec{
		OrganizationID: "organization-test-acme",
		MemberID:       "member-test-ada",
		Roles:          []string{"editor"},
		CustomClaims:   map[string]any{"plan": "pro"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	ctx := context.Background()
	v, err := verifier.New(ctx, verifier.Config{ProjectID: srv.ProjectID, BaseURL: srv.URL})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()

	session, _, err := v.Verify(ctx, sessionJWT)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(session.MemberID, session.OrganizationID, session.Roles, session.CustomClaims["plan"])

	forged := sessionJWT[:len(sessionJWT)-4] + "AAAA"
	_, _, err = v.Verify(ctx, forged)
	fmt.Println(errors.Is(err, verifier.ErrInvalidToken), errors.Is(err, verifier.ErrBadSignature), verifier.CanRefreshRemotely(err))
	// Output:
	// member-test-ada organization-test-acme [stytch_member editor] pro
	// true true false
}

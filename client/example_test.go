package client_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// Authenticating a session token against the emulator, and telling a dead
// session from an outage.
func Example() {
	srv := stytchtest.NewServer(stytchtest.Options{})
	defer srv.Close()
	token, _, _ := srv.NewSession(stytchtest.SessionSpec{OrganizationID: "organization-test-acme", Roles: []string{"editor"}})

	c, err := client.New(client.Config{ProjectID: srv.ProjectID, Secret: srv.Secret, BaseURL: srv.URL})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	resp, err := c.Sessions.Authenticate(ctx, &client.AuthenticateParams{SessionToken: token})
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.MemberSession.OrganizationID, resp.MemberSession.Roles)

	srv.RevokeSession(token)
	_, err = c.Sessions.Authenticate(ctx, &client.AuthenticateParams{SessionToken: token})
	fmt.Println("session invalid:", errors.Is(err, client.ErrSessionInvalid), "unavailable:", errors.Is(err, client.ErrUnavailable))

	srv.SetFault(stytchtest.EndpointAuthenticate, stytchtest.Fault{Status: 503})
	_, err = c.Sessions.Authenticate(ctx, &client.AuthenticateParams{SessionToken: token})
	fmt.Println("session invalid:", errors.Is(err, client.ErrSessionInvalid), "unavailable:", errors.Is(err, client.ErrUnavailable))
	// Output:
	// organization-test-acme [stytch_member editor]
	// session invalid: true unavailable: false
	// session invalid: false unavailable: true
}

package client_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

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

// Getting an M2M access token with the client-credentials grant, and
// telling a rejected client from a request for a scope it lacks.
func ExampleM2M_Token() {
	srv := stytchtest.NewServer(stytchtest.Options{})
	defer srv.Close()
	id, secret, _ := srv.NewM2MClient(stytchtest.M2MClientSpec{Scopes: []string{"read:documents", "write:documents"}})

	c, err := client.New(client.Config{ProjectID: srv.ProjectID, Secret: srv.Secret, BaseURL: srv.URL})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	tok, err := c.M2M.Token(ctx, &client.M2MTokenParams{ClientID: id, ClientSecret: secret, Scopes: []string{"read:documents"}})
	if err != nil {
		panic(err)
	}
	fmt.Println(tok.TokenType, tok.ExpiresIn, strings.Count(tok.AccessToken, "."))

	var e *client.Error
	_, err = c.M2M.Token(ctx, &client.M2MTokenParams{ClientID: id, ClientSecret: "not-the-secret"})
	errors.As(err, &e)
	fmt.Println(e.StatusCode, e.ErrorType, errors.Is(err, client.ErrInvalidClient), errors.Is(err, client.ErrSessionInvalid))

	_, err = c.M2M.Token(ctx, &client.M2MTokenParams{ClientID: id, ClientSecret: secret, Scopes: []string{"delete:documents"}})
	errors.As(err, &e)
	fmt.Println(e.StatusCode, e.ErrorType, errors.Is(err, client.ErrBadRequest))
	// Output:
	// bearer 3600 2
	// 401 invalid_client true false
	// 400 invalid_scope true
}

package main

import (
	"net/http"

	"github.com/stytchguard/stytchguard/client"
)

// m2mTokenResponse is the body of POST /demo/m2m/token.
type m2mTokenResponse struct {
	ClientID    string   `json:"client_id"`
	Scopes      []string `json:"scopes"`
	AccessToken string   `json:"access_token"`
	TokenType   string   `json:"token_type"`
	ExpiresIn   int      `json:"expires_in"`
}

// m2mToken serves POST /demo/m2m/token (emulator mode only): the demo
// server, which holds the seeded M2M client's secret as a service would,
// asks the emulator's token endpoint for an access token (client
// credentials, with client.M2M.Token) and hands it to the page, which then
// plays the machine client and sends it as a Bearer token. The secret never
// reaches the page.
func (d *demo) m2mToken(w http.ResponseWriter, r *http.Request) {
	m := d.app.M2M
	resp, err := d.app.client.M2M.Token(r.Context(), &client.M2MTokenParams{ClientID: m.ClientID, ClientSecret: m.Secret})
	if err != nil {
		writeJSONError(w, http.StatusBadGateway, "token_endpoint", "the emulator's token endpoint refused the client")
		return
	}
	writeJSON(w, http.StatusOK, m2mTokenResponse{
		ClientID:    m.ClientID,
		Scopes:      m.Scopes,
		AccessToken: resp.AccessToken,
		TokenType:   resp.TokenType,
		ExpiresIn:   resp.ExpiresIn,
	})
}

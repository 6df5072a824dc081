package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/stytchguard/stytchguard/client"
)

// printText writes the start-up information for a person: where the
// emulator listens, the project credentials, the seeded sessions and M2M
// clients, and curl lines that use them.
func printText(w io.Writer, info *startup) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("stytchtest: Stytch emulator ready (Ctrl-C to stop)")
	p("")
	p("  base URL    %s", info.BaseURL)
	p("  project id  %s", info.ProjectID)
	p("  secret      %s", info.Secret)
	p("  JWKS        %s", info.JWKSURL)
	p("  health      %s", info.HealthURL)
	curlCA := ""
	if info.CAFile != "" {
		p("  CA cert     %s", info.CAFile)
		p("              trust it: NODE_EXTRA_CA_CERTS=%s, curl --cacert %s", info.CAFile, info.CAFile)
		curlCA = " --cacert " + shellQuote(info.CAFile)
	}
	if len(info.Sessions) > 0 {
		p("")
		p("sessions (a session JWT lasts 5 minutes; authenticate the session token for a fresh one):")
		for _, s := range info.Sessions {
			p("  %s  %s  %s (%s)  roles %s  expires %s", s.EmailAddress, s.MemberID, s.OrganizationID,
				s.OrganizationSlug, strings.Join(s.Roles, ","), s.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z"))
			p("    session_token  %s", s.SessionToken)
			p("    session_jwt    %s", s.SessionJWT)
		}
	}
	if len(info.M2MClients) > 0 {
		p("")
		p("M2M clients:")
		for _, c := range info.M2MClients {
			p("  %s  scopes %s", c.ClientID, strings.Join(c.Scopes, " "))
			p("    client_secret  %s", c.ClientSecret)
		}
	}
	p("")
	p("try:")
	if len(info.Sessions) > 0 {
		p("  curl -s%s -u %s -H 'Content-Type: application/json' \\", curlCA, shellQuote(info.ProjectID+":"+info.Secret))
		p("    -d %s \\", shellQuote(`{"session_token":"`+info.Sessions[0].SessionToken+`"}`))
		p("    %s", info.BaseURL+client.PathAuthenticate)
	}
	if len(info.M2MClients) > 0 {
		c := info.M2MClients[0]
		p("  curl -s%s -u %s -d grant_type=client_credentials \\", curlCA, shellQuote(c.ClientID+":"+c.ClientSecret))
		p("    %s", info.BaseURL+client.M2MTokenPath(info.ProjectID))
	}
	p("  curl -s%s %s", curlCA, info.HealthURL)
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

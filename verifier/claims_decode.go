package verifier

import (
	"errors"
	"time"

	"github.com/stytchguard/stytchguard/client"
)

// The decoders below read the Stytch claim objects out of payload bytes that
// encoding/json has already validated (verify runs json.Valid on the
// payload before calling tokenClaims.UnmarshalJSON), in a single
// pass: each takes the data starting at its value and returns the value's
// length. They follow encoding/json's semantics for the target types, except
// that member names match exactly (JSON is case-sensitive; encoding/json
// folds case): null leaves a field unset (nil for pointers and slices),
// unknown members are ignored, a value of the wrong type is an error.
// FuzzStytchClaims holds them to encoding/json.

var errWrongType = errors.New("verifier: claim value of the wrong type")

// null reports whether rest starts with the null literal.
func null(rest []byte) bool { return len(rest) >= 4 && string(rest[:4]) == "null" }

// skip returns the length of the value at the start of rest.
func skip(rest []byte) (int, error) {
	n := skipValue(rest, 0)
	if n <= 0 {
		return 0, errNotObject
	}
	return n, nil
}

// decodeSession decodes the "https://stytch.com/session" claim.
func decodeSession(rest []byte, s *client.SessionClaim) (int, error) {
	if null(rest) {
		return 4, nil
	}
	return objectAt(rest, func(name, rest []byte) (int, error) {
		switch string(name) {
		case "id":
			return setString(rest, &s.ID)
		case "started_at":
			return setString(rest, &s.StartedAt)
		case "last_accessed_at":
			return setString(rest, &s.LastAccessedAt)
		case "expires_at":
			return setString(rest, &s.ExpiresAt)
		case "attributes":
			return decodeAttributes(rest, &s.Attributes)
		case "roles":
			return decodeStrings(rest, &s.Roles)
		case "authentication_factors":
			return decodeFactors(rest, &s.AuthenticationFactors)
		}
		return skip(rest)
	})
}

func decodeAttributes(rest []byte, a *client.Attributes) (int, error) {
	if null(rest) {
		return 4, nil
	}
	return decodeFields(rest, field{"ip_address", &a.IPAddress}, field{"user_agent", &a.UserAgent})
}

// decodeOrg decodes the "https://stytch.com/organization" claim.
func decodeOrg(rest []byte, o *client.OrgClaim) (int, error) {
	if null(rest) {
		return 4, nil
	}
	return decodeFields(rest, field{"organization_id", &o.ID}, field{"slug", &o.Slug})
}

// setString stores the JSON string at the start of rest in *dst; null
// leaves it unchanged.
func setString(rest []byte, dst *string) (int, error) {
	if null(rest) {
		return 4, nil
	}
	if len(rest) == 0 || rest[0] != '"' {
		return 0, errWrongType
	}
	end, _ := scanString(rest, 0)
	if end < 0 {
		return 0, errNotObject
	}
	s, err := jsonString(rest[:end])
	if err != nil {
		return 0, err
	}
	*dst = s
	return end, nil
}

// decodeStrings decodes an array of strings; null sets nil.
func decodeStrings(rest []byte, dst *[]string) (int, error) {
	if null(rest) {
		*dst = nil
		return 4, nil
	}
	if len(rest) == 0 || rest[0] != '[' {
		return 0, errWrongType
	}
	out := make([]string, 0, 4)
	n, err := arrayAt(rest, func(rest []byte) (int, error) {
		s := ""
		n, err := setString(rest, &s)
		out = append(out, s)
		return n, err
	})
	if err != nil {
		return 0, err
	}
	*dst = out
	return n, nil
}

// decodeFactors decodes the session's authentication factors; null sets nil.
func decodeFactors(rest []byte, dst *[]client.AuthenticationFactor) (int, error) {
	if null(rest) {
		*dst = nil
		return 4, nil
	}
	if len(rest) == 0 || rest[0] != '[' {
		return 0, errWrongType
	}
	out := make([]client.AuthenticationFactor, 0, 2)
	n, err := arrayAt(rest, func(rest []byte) (int, error) {
		out = append(out, client.AuthenticationFactor{})
		if null(rest) {
			return 4, nil
		}
		return decodeFactor(rest, &out[len(out)-1])
	})
	if err != nil {
		return 0, err
	}
	*dst = out
	return n, nil
}

// field names one string member of a small object.
type field struct {
	name string
	dst  *string
}

// decodeFields decodes an object whose interesting members are strings.
func decodeFields(rest []byte, fields ...field) (int, error) {
	if len(rest) == 0 || rest[0] != '{' {
		return 0, errWrongType
	}
	return objectAt(rest, func(name, rest []byte) (int, error) {
		for _, f := range fields {
			if string(name) == f.name {
				return setString(rest, f.dst)
			}
		}
		return skip(rest)
	})
}

// setObject allocates *dst (as encoding/json does for a pointer to struct)
// and decodes the object at the start of rest into it; null sets nil.
func setObject[T any](rest []byte, dst **T, decode func(rest []byte, v *T) (int, error)) (int, error) {
	if null(rest) {
		*dst = nil
		return 4, nil
	}
	if len(rest) == 0 || rest[0] != '{' {
		return 0, errWrongType
	}
	if *dst == nil {
		*dst = new(T)
	}
	return decode(rest, *dst)
}

// setTime decodes an RFC 3339 string into a freshly allocated time, as
// encoding/json does for *time.Time; null sets nil.
func setTime(rest []byte, dst **time.Time) (int, error) {
	if null(rest) {
		*dst = nil
		return 4, nil
	}
	raw := scalar(rest)
	if raw == nil {
		return 0, errNotObject
	}
	t := new(time.Time)
	if err := t.UnmarshalJSON(raw); err != nil {
		return 0, err
	}
	*dst = t
	return len(raw), nil
}

func decodeEmailFactor(rest []byte, v *client.EmailFactor) (int, error) {
	return decodeFields(rest, field{"email_id", &v.EmailID}, field{"email_address", &v.EmailAddress})
}

func decodePhoneFactor(rest []byte, v *client.PhoneNumberFactor) (int, error) {
	return decodeFields(rest, field{"phone_id", &v.PhoneID}, field{"phone_number", &v.PhoneNumber})
}

func decodeOAuthFactor(rest []byte, v *client.OAuthFactor) (int, error) {
	return decodeFields(rest, field{"id", &v.ID}, field{"provider_subject", &v.ProviderSubject},
		field{"email_id", &v.EmailID}, field{"provider_tenant_id", &v.ProviderTenantID})
}

func decodeSSOFactor(rest []byte, v *client.SSOFactor) (int, error) {
	return decodeFields(rest, field{"id", &v.ID}, field{"provider_id", &v.ProviderID}, field{"external_id", &v.ExternalID})
}

func decodeAuthenticatorAppFactor(rest []byte, v *client.AuthenticatorAppFactor) (int, error) {
	return decodeFields(rest, field{"totp_id", &v.TOTPID})
}

func decodeRecoveryCodeFactor(rest []byte, v *client.RecoveryCodeFactor) (int, error) {
	return decodeFields(rest, field{"totp_recovery_code_id", &v.TOTPRecoveryCodeID})
}

func decodeImpersonatedFactor(rest []byte, v *client.ImpersonatedFactor) (int, error) {
	return decodeFields(rest, field{"impersonator_id", &v.ImpersonatorID},
		field{"impersonator_email_address", &v.ImpersonatorEmailAddress})
}

func decodeTrustedAuthTokenFactor(rest []byte, v *client.TrustedAuthTokenFactor) (int, error) {
	return decodeFields(rest, field{"token_id", &v.TokenID})
}

// decodeFactor decodes one AuthenticationFactor.
func decodeFactor(rest []byte, f *client.AuthenticationFactor) (int, error) {
	if len(rest) == 0 || rest[0] != '{' {
		return 0, errWrongType
	}
	return objectAt(rest, func(name, rest []byte) (int, error) {
		switch string(name) {
		case "type":
			return setString(rest, &f.Type)
		case "delivery_method":
			return setString(rest, &f.DeliveryMethod)
		case "sequence_order":
			return setString(rest, &f.SequenceOrder)
		case "last_authenticated_at":
			return setTime(rest, &f.LastAuthenticatedAt)
		case "created_at":
			return setTime(rest, &f.CreatedAt)
		case "updated_at":
			return setTime(rest, &f.UpdatedAt)
		case "email_factor":
			return setObject(rest, &f.EmailFactor, decodeEmailFactor)
		case "phone_number_factor":
			return setObject(rest, &f.PhoneNumberFactor, decodePhoneFactor)
		case "google_oauth_factor":
			return setObject(rest, &f.GoogleOAuthFactor, decodeOAuthFactor)
		case "microsoft_oauth_factor":
			return setObject(rest, &f.MicrosoftOAuthFactor, decodeOAuthFactor)
		case "github_oauth_factor":
			return setObject(rest, &f.GithubOAuthFactor, decodeOAuthFactor)
		case "hubspot_oauth_factor":
			return setObject(rest, &f.HubspotOAuthFactor, decodeOAuthFactor)
		case "slack_oauth_factor":
			return setObject(rest, &f.SlackOAuthFactor, decodeOAuthFactor)
		case "saml_sso_factor":
			return setObject(rest, &f.SAMLSSOFactor, decodeSSOFactor)
		case "oidc_sso_factor":
			return setObject(rest, &f.OIDCSSOFactor, decodeSSOFactor)
		case "authenticator_app_factor":
			return setObject(rest, &f.AuthenticatorAppFactor, decodeAuthenticatorAppFactor)
		case "recovery_code_factor":
			return setObject(rest, &f.RecoveryCodeFactor, decodeRecoveryCodeFactor)
		case "impersonated_factor":
			return setObject(rest, &f.ImpersonatedFactor, decodeImpersonatedFactor)
		case "trusted_auth_token_factor":
			return setObject(rest, &f.TrustedAuthTokenFactor, decodeTrustedAuthTokenFactor)
		}
		return skip(rest)
	})
}

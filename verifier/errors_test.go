package verifier

import (
	"context"
	"errors"
	"testing"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// TestErrorVocabulary: the categories are the client package's. Every token
// reason is a client.ErrSessionInvalid and never a client.ErrUnavailable;
// ErrKeysUnavailable is the reverse.
func TestErrorVocabulary(t *testing.T) {
	for _, reason := range []error{
		ErrInvalidToken, ErrExpired, ErrTooOld, ErrMalformed, ErrTokenTooLarge, ErrBadSignature,
		ErrUnknownKey, ErrAlgorithm, ErrForbiddenHeader, ErrIssuer, ErrAudience, ErrClaims, ErrNotYetValid,
	} {
		if !errors.Is(reason, client.ErrSessionInvalid) || errors.Is(reason, client.ErrUnavailable) {
			t.Errorf("%v: matches client.ErrSessionInvalid %v, client.ErrUnavailable %v; want true, false",
				reason, errors.Is(reason, client.ErrSessionInvalid), errors.Is(reason, client.ErrUnavailable))
		}
	}
	if !errors.Is(ErrKeysUnavailable, client.ErrUnavailable) || errors.Is(ErrKeysUnavailable, client.ErrSessionInvalid) {
		t.Error("ErrKeysUnavailable must match client.ErrUnavailable and not client.ErrSessionInvalid")
	}
	// The errors Verify returns carry the same categories.
	e := newEnv(t, nil)
	ctx := context.Background()
	e.clock.Set(iat0.Add(MaxTokenLifetime + DefaultLeeway))
	_, _, err := e.v.Verify(ctx, e.sign(t, e.claims(iat0), nil))
	if !errors.Is(err, ErrExpired) || !errors.Is(err, client.ErrSessionInvalid) {
		t.Fatalf("expired token: %v, want ErrExpired matching client.ErrSessionInvalid", err)
	}
	cold, err := newColdEnv(t, stytchtest.Fault{Status: 503}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = cold.v.Verify(ctx, cold.sign(t, cold.claims(iat0), nil))
	if !errors.Is(err, ErrKeysUnavailable) || !errors.Is(err, client.ErrUnavailable) || errors.Is(err, client.ErrSessionInvalid) {
		t.Fatalf("no keys: %v, want ErrKeysUnavailable matching client.ErrUnavailable only", err)
	}
}

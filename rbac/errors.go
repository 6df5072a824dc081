package rbac

import (
	"errors"
	"strconv"

	"github.com/stytchguard/stytchguard/client"
)

// Error types carried by AuthorizationError, the error_type strings the
// Stytch API returns with HTTP 403 for the same failures.
const (
	// ErrorTypeTenancy is the error_type of a check whose organization is not
	// the subject's organization.
	//
	// Deprecated: use client.ErrorTypeTenancy, which it equals.
	ErrorTypeTenancy = client.ErrorTypeTenancy
	// ErrorTypePermission is the error_type of a check that no role of the
	// subject grants.
	//
	// Deprecated: use client.ErrorTypePermission, which it equals.
	ErrorTypePermission = client.ErrorTypePermission
)

// The categories below refine those of package client, where each is
// defined once: every rbac sentinel wraps its client counterpart, so a
// caller may branch on either.
var (
	// ErrForbidden is the category of every authorization refusal (HTTP 403).
	// It wraps client.ErrForbidden: errors.Is(err, ErrForbidden) and
	// errors.Is(err, client.ErrForbidden) both hold for each
	// *AuthorizationError.
	ErrForbidden error = &categoryError{"rbac: forbidden", []error{client.ErrForbidden}}

	// ErrTenancy reports that the organization of an AuthorizationCheck is not
	// the organization of the subject. It is a kind of ErrForbidden and wraps
	// client.ErrTenancy, the category of the API's own tenancy refusals.
	ErrTenancy error = &categoryError{"rbac: organization mismatch", []error{client.ErrTenancy, ErrForbidden}}

	// ErrPermissionDenied reports that none of the subject's roles grants the
	// action on the resource. It is a kind of ErrForbidden.
	ErrPermissionDenied error = &categoryError{"rbac: permission denied", []error{ErrForbidden}}

	// ErrPolicyUnavailable reports that no usable policy exists for the
	// decision: it was never fetched successfully, or it is older than the
	// configured maximum staleness and every refresh failed. It wraps
	// client.ErrUnavailable: no decision was made, and asking again later can
	// succeed. An error of this category also matches the categories of its
	// cause (context.DeadlineExceeded, ErrClosed,
	// client.ErrUnauthorizedCredentials...), but never a forbidden category
	// nor client.ErrSessionInvalid: a policy fetch carries no session, so its
	// failure says nothing about the member. The caller must not allow the
	// request, and may ask the Stytch API to decide instead (an Authenticate
	// call with an authorization_check).
	ErrPolicyUnavailable error = &categoryError{"rbac: policy unavailable", []error{client.ErrUnavailable}}

	// ErrClosed is wrapped by the ErrPolicyUnavailable error returned when a
	// fetch would be needed after Cache.Close.
	ErrClosed = errors.New("rbac: cache closed")
)

// categoryError is a sentinel of this package that refines the categories it
// unwraps to.
type categoryError struct {
	msg     string
	parents []error
}

func (e *categoryError) Error() string   { return e.msg }
func (e *categoryError) Unwrap() []error { return e.parents }

// AuthorizationError is the refusal of an AuthorizationCheck. ErrorType is
// client.ErrorTypeTenancy or client.ErrorTypePermission, the same strings the
// Stytch API returns. The other fields are identifiers of the check and never contain a
// credential.
//
// errors.Is(err, ErrForbidden) and errors.Is(err, client.ErrForbidden) hold
// for every AuthorizationError; errors.Is(err, ErrTenancy) (and
// client.ErrTenancy) holds for the tenancy case and
// errors.Is(err, ErrPermissionDenied) for the permission case.
type AuthorizationError struct {
	// ErrorType is client.ErrorTypeTenancy or client.ErrorTypePermission.
	ErrorType string
	// SubjectOrganizationID is the organization of the session.
	SubjectOrganizationID string
	// OrganizationID, ResourceID and Action are the refused check.
	OrganizationID string
	ResourceID     string
	Action         string
}

// maxErrorField caps every identifier quoted by AuthorizationError.Error, so
// an oversized value from a request cannot bloat logs.
const maxErrorField = 128

// Error describes the refusal. Identifiers are quoted (control characters
// escaped) and cut to a bounded length.
func (e *AuthorizationError) Error() string {
	if e.ErrorType == client.ErrorTypeTenancy {
		return "rbac: subject organization_id " + quoteField(e.SubjectOrganizationID) +
			" does not match authorization organization_id " + quoteField(e.OrganizationID)
	}
	return "rbac: member is not authorized to perform action " + quoteField(e.Action) +
		" on resource " + quoteField(e.ResourceID) +
		" in organization " + quoteField(e.OrganizationID)
}

// Unwrap returns the category of the refusal: ErrTenancy for
// client.ErrorTypeTenancy, else ErrPermissionDenied. Through it the error
// matches ErrForbidden and the client categories with errors.Is.
func (e *AuthorizationError) Unwrap() error {
	if e.ErrorType == client.ErrorTypeTenancy {
		return ErrTenancy
	}
	return ErrPermissionDenied
}

// StatusCode returns the HTTP status of an authorization refusal, 403.
func (e *AuthorizationError) StatusCode() int { return 403 }

func quoteField(s string) string {
	if len(s) > maxErrorField {
		return strconv.Quote(s[:maxErrorField]) + "..."
	}
	return strconv.Quote(s)
}

func newAuthorizationError(errorType, subjectOrg string, check *client.AuthorizationCheck) *AuthorizationError {
	return &AuthorizationError{
		ErrorType:             errorType,
		SubjectOrganizationID: subjectOrg,
		OrganizationID:        check.OrganizationID,
		ResourceID:            check.ResourceID,
		Action:                check.Action,
	}
}

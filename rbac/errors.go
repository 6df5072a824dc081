package rbac

import (
	"errors"
	"strconv"

	"github.com/stytchguard/stytchguard/client"
)

// Error types carried by AuthorizationError. They are the error_type strings
// the Stytch API returns with HTTP 403 for the same failures.
const (
	// ErrorTypeTenancy is the error_type of a check whose organization is not
	// the subject's organization.
	ErrorTypeTenancy = "session_authorization_tenancy_error"
	// ErrorTypePermission is the error_type of a check that no role of the
	// subject grants.
	ErrorTypePermission = "session_authorization_error"
)

var (
	// ErrForbidden is the category of every authorization refusal (HTTP 403):
	// errors.Is(err, ErrForbidden) holds for each *AuthorizationError, as
	// does errors.Is(err, client.ErrForbidden).
	ErrForbidden = errors.New("rbac: forbidden")

	// ErrTenancy reports that the organization of an AuthorizationCheck is not
	// the organization of the subject. It is a kind of ErrForbidden.
	ErrTenancy = errors.New("rbac: organization mismatch")

	// ErrPermissionDenied reports that none of the subject's roles grants the
	// action on the resource. It is a kind of ErrForbidden.
	ErrPermissionDenied = errors.New("rbac: permission denied")

	// ErrPolicyUnavailable reports that no usable policy exists for the
	// decision: it was never fetched successfully, or it is older than the
	// configured maximum staleness and every refresh failed. The error also
	// matches the categories of the cause (often client.ErrUnavailable), but
	// never a forbidden category. No decision was made:
	// the caller must not allow the request, and may ask the Stytch API to
	// decide instead (an Authenticate call with an authorization_check).
	ErrPolicyUnavailable = errors.New("rbac: policy unavailable")

	// ErrClosed is wrapped by the ErrPolicyUnavailable error returned when a
	// fetch would be needed after Cache.Close.
	ErrClosed = errors.New("rbac: cache closed")
)

// AuthorizationError is the refusal of an AuthorizationCheck. ErrorType is
// ErrorTypeTenancy or ErrorTypePermission, the same strings the Stytch API
// returns. The other fields are identifiers of the check and never contain a
// credential.
//
// errors.Is(err, ErrForbidden) holds for every AuthorizationError;
// errors.Is(err, ErrTenancy) holds for the tenancy case and
// errors.Is(err, ErrPermissionDenied) for the permission case.
type AuthorizationError struct {
	// ErrorType is ErrorTypeTenancy or ErrorTypePermission.
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
	if e.ErrorType == ErrorTypeTenancy {
		return "rbac: subject organization_id " + quoteField(e.SubjectOrganizationID) +
			" does not match authorization organization_id " + quoteField(e.OrganizationID)
	}
	return "rbac: member is not authorized to perform action " + quoteField(e.Action) +
		" on resource " + quoteField(e.ResourceID) +
		" in organization " + quoteField(e.OrganizationID)
}

// Is reports whether target is a category e belongs to: ErrForbidden and
// client.ErrForbidden (the category of the API's own 403 refusals) always,
// ErrTenancy or ErrPermissionDenied according to ErrorType.
func (e *AuthorizationError) Is(target error) bool {
	switch target {
	case ErrForbidden, client.ErrForbidden:
		return true
	case ErrTenancy:
		return e.ErrorType == ErrorTypeTenancy
	case ErrPermissionDenied:
		return e.ErrorType == ErrorTypePermission
	}
	return false
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

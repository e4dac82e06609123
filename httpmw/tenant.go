package httpmw

import (
	"fmt"
	"net/http"
)

// TenantFunc resolves the tenant a request is accounted to. An error ends
// the request with 401 before any budget or store work. Production
// resolvers derive the tenant from the authenticated principal (a verified
// token's claim, an mTLS identity), never from a header the client chooses.
type TenantFunc func(*http.Request) (string, error)

// DefaultTenantHeader is the header HeaderTenant reads when given "".
const DefaultTenantHeader = "X-Tenant-ID"

// MaxTenantLen is the longest tenant id HeaderTenant accepts.
const MaxTenantLen = 64

// HeaderTenant returns a TenantFunc that reads the tenant from a request
// header (DefaultTenantHeader when header is ""). It is a development
// convenience: any client can claim any tenant with it. The value must be
// 1 to MaxTenantLen bytes of ASCII letters, digits, '-', '_', '.' or ':';
// a missing value yields an error matching ErrTenantMissing, a bad one
// ErrTenantInvalid.
func HeaderTenant(header string) TenantFunc {
	if header == "" {
		header = DefaultTenantHeader
	}
	header = http.CanonicalHeaderKey(header)
	return func(r *http.Request) (string, error) {
		v := r.Header[header]
		if len(v) == 0 || v[0] == "" {
			return "", fmt.Errorf("%w: header %s is empty", ErrTenantMissing, header)
		}
		if len(v) > 1 {
			return "", fmt.Errorf("%w: header %s given %d times", ErrTenantInvalid, header, len(v))
		}
		if err := ValidTenant(v[0]); err != nil {
			return "", err
		}
		return v[0], nil
	}
}

// ValidTenant checks a tenant id against the rules HeaderTenant applies; a
// custom TenantFunc may reuse it. It returns nil or an error matching
// ErrTenantMissing (empty) or ErrTenantInvalid.
func ValidTenant(id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty tenant id", ErrTenantMissing)
	}
	if len(id) > MaxTenantLen {
		return fmt.Errorf("%w: tenant id longer than %d bytes", ErrTenantInvalid, MaxTenantLen)
	}
	for i := 0; i < len(id); i++ {
		if !tenantByte(id[i]) {
			return fmt.Errorf("%w: byte %d of the tenant id is not allowed", ErrTenantInvalid, i)
		}
	}
	return nil
}

func tenantByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	case c == '-', c == '_', c == '.', c == ':':
		return true
	}
	return false
}

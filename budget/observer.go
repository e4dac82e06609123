package budget

// Observer is told what the Enforcer decided and what went wrong, with
// plain types so that a metrics recorder (such as the sli package's) can
// implement it without this package importing it. Methods are called
// synchronously on the request path and must be fast and safe for
// concurrent use.
type Observer interface {
	// Decision is called once per Reserve with the decision taken and
	// the tenant's figures in micro-USD (spend, holds before this
	// request, limit).
	Decision(tenant string, d Decision, estimate, spent, held, limit int64)
	// Breach is called when a Reserve answers Downshift or Block: the
	// tenant is past its downshift threshold or its limit.
	Breach(tenant string, d Decision)
	// StoreError is called when a store call fails; op is "reserve",
	// "settle", "release", "status" or "limit".
	StoreError(op, tenant string, err error)
}

// ObserverFuncs adapts functions to Observer; nil fields are skipped.
type ObserverFuncs struct {
	// OnDecision implements Observer.Decision.
	OnDecision func(tenant string, d Decision, estimate, spent, held, limit int64)
	// OnBreach implements Observer.Breach.
	OnBreach func(tenant string, d Decision)
	// OnStoreError implements Observer.StoreError.
	OnStoreError func(op, tenant string, err error)
}

// Decision implements Observer.
func (f ObserverFuncs) Decision(tenant string, d Decision, estimate, spent, held, limit int64) {
	if f.OnDecision != nil {
		f.OnDecision(tenant, d, estimate, spent, held, limit)
	}
}

// Breach implements Observer.
func (f ObserverFuncs) Breach(tenant string, d Decision) {
	if f.OnBreach != nil {
		f.OnBreach(tenant, d)
	}
}

// StoreError implements Observer.
func (f ObserverFuncs) StoreError(op, tenant string, err error) {
	if f.OnStoreError != nil {
		f.OnStoreError(op, tenant, err)
	}
}

// Package storetest is the conformance suite for budget.Store
// implementations: every store (in memory, Redis, or your own) must pass
// Run, and Concurrent checks atomicity under many goroutines and many
// Enforcers sharing one store.
//
// The suite drives the store through a budget.Enforcer with a fake clock,
// so it checks the behaviour users see (decisions at each threshold,
// reservation lifecycle, period rollover, hostile tenant ids) and, where
// the Enforcer hides it, calls the store directly (retried calls, settle
// outcomes).
//
// # Use
//
//	func TestMyStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) budget.Store { return newMyStore(t) })
//	}
//
// newStore is called once per subtest and must return an empty store (or
// one whose keys cannot collide with other subtests', such as a fresh key
// prefix on a shared server). The suite uses a fake clock starting at
// Start; stores must take time only from the arguments they are given.
package storetest

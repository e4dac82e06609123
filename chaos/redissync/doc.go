// Package redissync shares chaos faults across a fleet of instances through
// Redis, so that a fault set through any instance's admin API applies on
// every instance.
//
// # Model
//
// The faults live in one Redis hash ("<prefix>:faults"), one entry per
// fault slot (mode, target, tenant), each a JSON record with the fault's
// absolute expiry time, so the TTL is the same on every instance. Writes
// (Set, Clear) run as Lua scripts that drop expired entries, enforce
// chaos.MaxFaults across the fleet, keep the hash alive as long as its
// longest-lived fault, and publish a notification on "<prefix>:changed".
//
// Every instance runs a Sync that reloads the whole hash and applies it to
// its chaos.Injector when a notification arrives and every reconcile
// interval (500 ms by default) in case a notification was missed. A change
// made on any instance is therefore applied everywhere within one second.
// New loads the hash before returning, so a (re)started instance begins
// with the fleet's active faults.
//
// When Redis cannot be reached, an instance keeps its last known faults,
// which still expire at their absolute time on the injector's clock; Set
// and Clear then fail without changing anything. Background errors go to
// the WithErrorHandler hook; nothing is logged.
//
// Use the Sync, not the Injector, as the admin handler's chaos.Controller:
// a fault set directly on the injector is local and is replaced at the
// next reload.
//
// # Defaults
//
//	prefix              DefaultPrefix ("llmops:chaos")
//	reconcile interval  DefaultReconcileInterval (500ms), in [10ms, 1m]
//	clock               the injector's (chaos.WithClock)
//
// # Concurrency
//
// A Sync is safe for concurrent use. It owns one goroutine plus go-redis's
// pub/sub reader, both stopped by Close. Loads and writes are serialized
// per instance, so an older read is never applied over a newer write. The
// injector's hot path is unaffected: the sync only publishes new
// snapshots.
package redissync

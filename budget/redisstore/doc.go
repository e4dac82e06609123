// Package redisstore is a budget.Store on Redis (go-redis v9), for many
// service instances sharing one budget per tenant.
//
// # Model
//
// Each operation is one Lua script, so checking the limit and holding the
// estimate is atomic across instances, and each Reserve, Settle or Release
// is exactly one round trip (EVALSHA; after a Redis restart or SCRIPT
// FLUSH the first call of a script gets NOSCRIPT and is re-sent as EVAL,
// which is correct because every script is idempotent). Amounts are
// integers changed with HINCRBY, never floats.
//
// An admitting Reserve runs three commands inside its script (HMGET of
// spent and held, ZADD NX of the hold, HINCRBY of held) and reads six
// arguments (the values only a sweep or a period's first hold needs are
// packed into one); the caller formats every time and member string, so
// the script formats none. The
// Store caches the keys of recently used tenant periods (256 slots, each
// tenant in one of two), so a call builds no key strings, and passes its
// numbers as bytes, so building a call's arguments is one allocation.
// With a client that has a Process method (*redis.Client, ClusterClient,
// Ring) the Store builds the EVALSHA command itself, in that same
// allocation, with the keys boxed once per cached period; the command goes
// through the client's hooks, retries and key routing like any other.
//
// # Key layout
//
// A tenant's period uses two keys with one hash tag, so they live in one
// Redis Cluster slot:
//
//	<prefix>{<base64url(tenant)>}:<period start, Unix ms>     hash: spent, held
//	<prefix>{<base64url(tenant)>}:<period start, Unix ms>:h   zset: the period's reservation records
//
// In the ":h" set a live hold is a member "<id>:<estimate>" scored by
// minus its expiry (Unix ms); when it expires unsettled, a sweep turns its
// score positive (its expiry), and the record waits there for a late
// settle until it is forgotten; an id charged by a forced settle is a
// member "<id>" scored by the time of the charge. Live holds go to the
// head of the set, because a new hold expires no earlier than those
// before it: in a small set (a listpack) ZADD then stops at once instead
// of walking past every other record.
//
// The prefix defaults to "llmops:budget:". The tenant id is base64url
// encoded (unpadded): the encoding is injective and has no braces, colons
// or whitespace, so no id can inject into another's keys or pick another's
// slot. Ids are at most 256 bytes (budget.MaxTenantLen).
//
// Keys expire KeepUntil-Now milliseconds after they are written (PEXPIRE,
// relative, so it holds whatever the skew between the instance's clock and
// Redis's): the period's end plus the Enforcer's retention.
//
// # Time
//
// The Enforcer's clock defines periods and hold expiry and is passed into
// the scripts; Redis TIME is not used. That keeps the memory and Redis
// stores identical under one conformance suite with a fake clock, and the
// period computation (calendar months in UTC) in Go. The cost is that
// instances must agree on the time (NTP): a skew of s seconds moves
// requests within s of a period boundary into the neighbouring period and
// lets a hold live TTL±s; it never breaks the atomicity of a limit.
//
// # Expired holds
//
// A Reserve sweeps up to 64 expired holds of the tenant's period before
// any decision other than Allow (and on about one call in ten otherwise),
// in O(log n) per hold: an unswept expired hold can only make the level
// look higher, so an Allow taken without sweeping is right and every
// Downshift or Block is decided on swept figures. Usage (Status) excludes
// expired holds without writing.
//
// # Client
//
// New accepts any redis.Scripter: *redis.Client, *redis.ClusterClient and
// *redis.Ring. Set ContextTimeoutEnabled in the client's options so that
// the Enforcer's per-call timeout also bounds socket reads and writes;
// otherwise a hung server holds a call for the client's ReadTimeout.
// go-redis retries a command on network errors; the scripts are idempotent
// by reservation id, so a retry never counts twice.
//
// # Concurrency
//
// A Store is safe for concurrent use by multiple goroutines.
package redisstore

package redisstore

import "github.com/redis/go-redis/v9"

// Keys of one tenant's period, both sharing the {tenant} hash tag:
//
//	KEYS[1] hash: "spent" and "held" (sum of the live holds)
//	KEYS[2] zset: the period's reservation records, by score:
//	        < 0  a live hold, member "<id>:<estimate>", scored by minus its
//	             expiry (-Unix ms), so the newest hold sorts first
//	        > 0  an expired, unsettled hold (same member, scored by its
//	             expiry), kept for a late settle; or an id charged by a
//	             forced settle (member "<id>", no colon, scored by the time
//	             of the charge)
//
// The hold's amount is part of its member, so admitting a request writes
// one hash field and one set member, and a hold expires by changing the
// sign of its score. Amounts are decimal strings handled by HINCRBY (exact
// int64 in Redis); Lua numbers (doubles) only compare amounts, which are
// below 2^53. Invariant: "held" equals the sum of the estimates of the
// negative-scored members of KEYS[2].
//
// Live holds are scored by minus their expiry because every new hold
// expires no earlier than the holds before it (same TTL, later now), and a
// small sorted set is a listpack in which ZADD walks from the head to the
// insertion point: with negated scores the point is the head, so the walk
// stops at once instead of crossing every live hold (records with positive
// scores sit at the tail). Sets large enough to be skiplists are O(log n)
// either way.

// reserveScript admits and holds, or blocks. Expired holds are swept
// (up to 64, oldest first, to a positive score) before any decision other
// than Allow, and on about one call in ten otherwise: an unswept expired
// hold can only make the level look higher, so an Allow taken without
// sweeping is right, and every Downshift or Block is decided on swept
// figures. A sweep also forgets the records (expired holds, forced
// charges) older than forgetBefore.
//
// A repeated call with the same id and estimate (a client retry after a
// lost reply) holds nothing more: ZADD NX refuses the member, or, if the
// re-check blocks, the live member is found.
//
//	ARGV: member ("<id>:<estimate>"), estimate, limit, downshiftAt,
//	      -expiry, "<-now> <keepMillis> <forgetBefore>"
//	returns {decision 1|2|3, spent, held}
//
// The hold expires at expiry (now+ttl, Unix ms; its score is -expiry);
// records that expired before forgetBefore are forgotten (Unix ms, exact
// as Lua numbers). The last argument packs the values that only a sweep or
// a period's first hold needs, so the admitting path passes six arguments
// and parses none of them. Calls whose id ends in 0 sweep whatever their
// level (about one in ten: ids are random). Every time and member string
// is built by the caller, so the admitting path runs three commands
// (HMGET, ZADD, HINCRBY) and no string formatting. Spent and held are
// returned as integers when they have at most 15 digits (exact as Lua
// numbers), else as decimal strings.
var reserveScript = redis.NewScript(`
local hkey, holds, member, est = KEYS[1], KEYS[2], ARGV[1], ARGV[2]
local v = redis.call('HMGET', hkey, 'spent', 'held')
local spent, held = v[1] or '0', v[2] or '0'
local amt, dsat, nspent = tonumber(est), tonumber(ARGV[4]), tonumber(spent)
local level = nspent + tonumber(held)
if level + amt >= dsat or string.byte(member, #member - #est - 1) == 48 then
  local negnow, keep, forget = string.match(ARGV[6], '^(%S+) (%S+) (%S+)$')
  local dead = redis.call('ZREVRANGEBYSCORE', holds, '(0', negnow, 'WITHSCORES', 'LIMIT', 0, 64)
  if #dead > 0 then
    for i = 1, #dead, 2 do
      local a = string.match(dead[i], ':(%d+)$')
      if a ~= '0' then held = redis.call('HINCRBY', hkey, 'held', '-' .. a) end
      redis.call('ZADD', holds, -tonumber(dead[i+1]), dead[i])
    end
    redis.call('ZREMRANGEBYSCORE', holds, '0', '(' .. forget)
    level = nspent + tonumber(held)
  end
end
if #spent < 16 then spent = nspent end
local limit = tonumber(ARGV[3])
local admit = limit > 0 and level + amt < limit
if admit and redis.call('ZADD', holds, 'NX', ARGV[5], member) == 1 then
  local keep
  if tonumber(held) == 0 then
    keep = string.match(ARGV[6], ' (%S+) ')
    redis.call('PEXPIRE', holds, keep)
  end
  local nheld = redis.call('HINCRBY', hkey, 'held', est)
  if not v[1] and not v[2] then
    redis.call('PEXPIRE', hkey, keep or string.match(ARGV[6], ' (%S+) '))
  end
  if level + amt >= dsat then return {2, spent, nheld} end
  return {1, spent, nheld}
end
if type(held) == 'string' and #held < 16 then held = tonumber(held) end
if not admit then
  local sc = redis.call('ZSCORE', holds, member)
  if not sc or tonumber(sc) > 0 then return {3, spent, held} end
end
if level >= dsat then return {2, spent, held} end
return {1, spent, held}
`)

// finishScript settles or releases one reservation: a live hold is
// removed and its estimate returned (and, on settle, the actual charged);
// an expired hold's record is removed and, on settle, the actual charged
// (late); a forced settle of an unknown id is charged once, its id
// recorded.
//
//	ARGV: id, estimate, actual, mode ("s" settle | "r" release), now, keepMillis, forgetBefore, force ("1"|"0")
//	returns 1 applied, 2 late, 3 duplicate
var finishScript = redis.NewScript(`
local hkey, holds = KEYS[1], KEYS[2]
local member, actual, settle, keep = ARGV[1] .. ':' .. ARGV[2], ARGV[3], ARGV[4] == 's', ARGV[6]
local exp = redis.call('ZSCORE', holds, member)
if exp then
  exp = tonumber(exp)
  redis.call('ZREM', holds, member)
  if exp < 0 then
    if ARGV[2] ~= '0' then redis.call('HINCRBY', hkey, 'held', '-' .. ARGV[2]) end
    if settle and actual ~= '0' then redis.call('HINCRBY', hkey, 'spent', actual) end
    if -exp <= tonumber(ARGV[5]) then return 2 end
    return 1
  end
  if settle then
    redis.call('HINCRBY', hkey, 'spent', actual)
    redis.call('PEXPIRE', hkey, keep)
  end
  return 2
end
if settle and ARGV[8] == '1' then
  redis.call('ZREMRANGEBYSCORE', holds, '0', '(' .. ARGV[7])
  if redis.call('ZSCORE', holds, ARGV[1]) then return 3 end
  redis.call('ZADD', holds, ARGV[5], ARGV[1])
  redis.call('PEXPIRE', holds, keep)
  redis.call('HINCRBY', hkey, 'spent', actual)
  redis.call('PEXPIRE', hkey, keep)
  return 1
end
return 3
`)

// usageScript reads spend and live holds without writing: holds that
// expired but are not yet swept are left out of held.
//
//	ARGV: -now
//	returns {spent, held}
var usageScript = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'spent', 'held')
local held = tonumber(v[2] or '0')
local dead = redis.call('ZRANGEBYSCORE', KEYS[2], ARGV[1], '(0')
for i = 1, #dead do
  held = held - tonumber(string.match(dead[i], ':(%d+)$'))
end
return {v[1] or '0', held}
`)

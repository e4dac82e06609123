package budget

import (
	"fmt"
	"math"
	"math/bits"
)

// MaxAmount is the largest amount, in micro-USD, accepted as a limit, an
// estimate or an actual cost: 2^53-1 (about 9 billion USD). Keeping amounts
// below 2^53 lets every store compare them exactly, including the Redis
// store whose Lua numbers are IEEE doubles.
const MaxAmount int64 = 1<<53 - 1

// FromUSD converts an amount in US dollars to micro-USD, rounding up to the
// next whole micro-dollar. It returns an error matching ErrInvalidAmount for
// a negative, NaN or infinite amount, or one above MaxAmount micro-USD.
func FromUSD(usd float64) (int64, error) {
	if math.IsNaN(usd) || math.IsInf(usd, 0) || usd < 0 {
		return 0, fmt.Errorf("%w: %v USD", ErrInvalidAmount, usd)
	}
	// Decimal amounts such as 0.1 are not exact in binary; round the
	// product to 1e-6 micro-USD before taking the ceiling so that 0.1 USD
	// is 100000 micro-USD and not 100001.
	m := usd * 1e6
	m = math.Ceil(math.Round(m*1e6) / 1e6)
	if m > float64(MaxAmount) {
		return 0, fmt.Errorf("%w: %v USD is above the maximum", ErrInvalidAmount, usd)
	}
	return int64(m), nil
}

func checkAmount(what string, v int64) error {
	if v < 0 || v > MaxAmount {
		return fmt.Errorf("%w: %s %d micro-USD is outside [0, %d]", ErrInvalidAmount, what, v, MaxAmount)
	}
	return nil
}

// thresholdAmount returns ceil(limit * basisPoints / 10000) without
// overflow.
func thresholdAmount(limit int64, basisPoints uint64) int64 {
	if limit < 1<<49 && basisPoints <= 10000 { // limit*basisPoints < 2^63
		return (limit*int64(basisPoints) + 9999) / 10000
	}
	hi, lo := bits.Mul64(uint64(limit), basisPoints)
	q, r := bits.Div64(hi, lo, 10000)
	if r != 0 {
		q++
	}
	return int64(q)
}

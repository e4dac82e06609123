package drill

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Run sets cfg.Fault through the admin API (unless it is nil), drives the
// load, clears the fault and returns the report.
//
// The fault is cleared (DELETE /admin/chaos, which clears every active
// fault) on every path once the set call may have reached the server: after
// a normal end, after ctx is cancelled and after an error; the clearing call
// runs on context.WithoutCancel(ctx) bounded by ClearTimeout. A failed clear
// is reported with ErrClearFailed.
//
// Errors: ErrConfig before anything is sent; ErrUnreachable when the admin
// API or, for a baseline, every load request failed to connect; an
// *AdminError (ErrUnauthorized, ErrAdminRejected) when the fault is refused,
// in which case no load is sent; ErrInterrupted when ctx ended the drill
// early. The report is returned with the error, filled as far as the drill
// went.
func Run(ctx context.Context, cfg Config) (rep Report, err error) {
	c, err := cfg.resolve()
	if err != nil {
		return Report{}, err
	}
	rep = Report{
		Method:      c.Method,
		URL:         c.loadURL,
		Rate:        c.Rate,
		Duration:    c.span,
		Concurrency: c.Concurrency,
		Planned:     c.planned,
	}
	client := c.Client
	if client == nil {
		client = newClient(c.Concurrency)
		defer client.CloseIdleConnections()
	}
	if ctx.Err() != nil {
		return rep, interrupted(ctx)
	}

	if c.Fault != nil {
		adm := newAdmin(client, c.adminURL, c.Token)
		st := &FaultStatus{Fault: *c.Fault}
		rep.Fault = st
		sctx, cancel := context.WithTimeout(ctx, c.Timeout)
		id, exp, setErr := adm.set(sctx, c.Fault)
		cancel()
		if setErr != nil {
			var ae *AdminError
			if errors.As(setErr, &ae) || errors.Is(setErr, ErrUnreachable) {
				// The server refused it, or it never reached a server:
				// nothing was set, so nothing is cleared.
				return rep, setErr
			}
			// The outcome is unknown (cancelled or timed out after the
			// request left): clear to be safe.
			if clearErr := clearFault(ctx, adm, c.ClearTimeout, st); clearErr != nil {
				setErr = errors.Join(setErr, clearErr)
			}
			if ctx.Err() != nil {
				setErr = errors.Join(interrupted(ctx), setErr)
			}
			return rep, setErr
		}
		st.ID, st.ExpiresAt = id, exp
		defer func() {
			if clearErr := clearFault(ctx, adm, c.ClearTimeout, st); clearErr != nil {
				err = errors.Join(err, clearErr)
			}
		}()
	}

	col := newCollector(c.planned, c.MaxSamples)
	elapsed := runLoad(ctx, c, client, col)
	col.fill(&rep)
	rep.Elapsed = elapsed

	if ctx.Err() != nil {
		return rep, interrupted(ctx)
	}
	if first := col.unreachable(); first != nil {
		return rep, &UnreachableError{URL: c.loadURL, Err: first}
	}
	return rep, nil
}

func interrupted(ctx context.Context) error {
	return fmt.Errorf("%w: %w", ErrInterrupted, context.Cause(ctx))
}

// clearFault deletes the active faults on a context that survives ctx's
// cancellation, and records the outcome in st.
func clearFault(ctx context.Context, adm *admin, timeout time.Duration, st *FaultStatus) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	n, err := adm.clear(cctx)
	if err != nil {
		st.ClearError = err.Error()
		return fmt.Errorf("%w (the fault expires by its TTL of %v): %w", ErrClearFailed, st.TTL, err)
	}
	st.Cleared, st.ClearedCount = true, n
	return nil
}

// newClient returns the client Run owns when Config.Client is nil: the
// default transport's settings with enough idle connections per host for
// the concurrency bound, so a steady drill reuses its connections.
func newClient(concurrency int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = concurrency
	t.MaxIdleConnsPerHost = concurrency
	return &http.Client{Transport: t}
}

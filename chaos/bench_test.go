package chaos_test

import (
	"context"
	"testing"
	"time"

	"github.com/llmops-go/llmops/chaos"
)

func benchInjector(b *testing.B, opts []chaos.Option, specs ...chaos.Spec) *chaos.Injector {
	b.Helper()
	in, err := chaos.New(opts...)
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range specs {
		if _, err := in.Set(context.Background(), s); err != nil {
			b.Fatal(err)
		}
	}
	return in
}

var sink error

// BenchmarkInjectNoFault is the hot path with chaos off: one atomic load.
func BenchmarkInjectNoFault(b *testing.B) {
	in := benchInjector(b, nil)
	ctx, at := context.Background(), chaos.Tool("web_search")
	b.ReportAllocs()
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, sink = in.Inject(ctx, at, "acme")
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			var err error
			for pb.Next() {
				_, err = in.Inject(ctx, at, "acme")
			}
			sink = err
		})
	})
}

// BenchmarkInjectOneFault has one active fault that matches every call:
// an outage with probability 1 (no draw) and a throttle with probability
// 0.5 (one draw per call), the latter also with WithSeed; and one that
// matches no call.
func BenchmarkInjectOneFault(b *testing.B) {
	throttle := chaos.Spec{Mode: chaos.Throttle, Target: chaos.Tools(), Probability: 0.5, TTL: time.Hour}
	cases := []struct {
		name string
		opts []chaos.Option
		spec chaos.Spec
	}{
		{"outage_p1", nil, chaos.Spec{Mode: chaos.Outage, Target: chaos.Tool("web_search"), Probability: 1, TTL: time.Hour}},
		{"throttle_p0.5", nil, throttle},
		{"throttle_p0.5_seeded", []chaos.Option{chaos.WithSeed(1)}, throttle},
		{"other_target", nil, chaos.Spec{Mode: chaos.Outage, Target: chaos.Model(), Probability: 1, TTL: time.Hour}},
	}
	ctx, at := context.Background(), chaos.Tool("web_search")
	for _, c := range cases {
		in := benchInjector(b, c.opts, c.spec)
		b.Run(c.name+"/serial", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, sink = in.Inject(ctx, at, "acme")
			}
		})
		b.Run(c.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				var err error
				for pb.Next() {
					_, err = in.Inject(ctx, at, "acme")
				}
				sink = err
			})
		})
	}
}

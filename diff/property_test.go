package diff

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/brooksdata/brooks/query"
)

// Property tests: hand-rolled loops over seeded random answers.

const propertyRuns = 300

// randomAnswer makes a sparse answer: up to 12 URL series (distinct after
// normalisation) of up to 40 buckets, pageviews and visitors, values 0..9.
func randomAnswer(rng *rand.Rand) *query.Answer {
	a := ans("x", q5m(query.Pageviews, query.Visitors))
	for u := range rng.IntN(12) {
		s := ser(fmt.Sprintf("https://acme.example/post/%d", u))
		for b := range 40 {
			if rng.IntN(3) == 0 {
				continue
			}
			p := pt(5*b, query.Pageviews, rng.IntN(10))
			if rng.IntN(2) == 0 {
				p.Values[query.Visitors] = float64(rng.IntN(10))
			}
			s.Points = append(s.Points, p)
		}
		a.Series = append(a.Series, s)
	}
	return a
}

func cloneAnswer(a *query.Answer) *query.Answer {
	c := *a
	c.Series = make([]query.Series, len(a.Series))
	for i, s := range a.Series {
		c.Series[i] = query.Series{Key: maps.Clone(s.Key), Points: make([]query.Point, len(s.Points))}
		for j, p := range s.Points {
			c.Series[i].Points[j] = query.Point{T: p.T, Values: maps.Clone(p.Values)}
		}
	}
	return &c
}

// disguise returns an equivalent answer: series and points shuffled, URLs
// respelt (case, fragment, tracking parameter), times in another zone.
func disguise(rng *rand.Rand, a *query.Answer) *query.Answer {
	c := cloneAnswer(a)
	zone := time.FixedZone("X", 3600*(rng.IntN(25)-12))
	for i := range c.Series {
		u := c.Series[i].Key[query.DimURL]
		c.Series[i].Key[query.DimURL] = strings.Replace(u, "acme.example", "ACME.Example", 1) + "?utm_source=x#frag"
		for j := range c.Series[i].Points {
			c.Series[i].Points[j].T = c.Series[i].Points[j].T.In(zone)
		}
		rng.Shuffle(len(c.Series[i].Points), func(x, y int) {
			c.Series[i].Points[x], c.Series[i].Points[y] = c.Series[i].Points[y], c.Series[i].Points[x]
		})
	}
	rng.Shuffle(len(c.Series), func(x, y int) { c.Series[x], c.Series[y] = c.Series[y], c.Series[x] })
	return c
}

func TestPropertySelfCompareMatches(t *testing.T) {
	for seed := range uint64(propertyRuns) {
		rng := rand.New(rand.NewPCG(seed, 1))
		a := randomAnswer(rng)
		for _, b := range []*query.Answer{a, disguise(rng, a)} {
			rep := mustCompare(t, a, b, testOptions())
			wantVerdict := VerdictMatch
			if rep.Summary.Cells == 0 {
				wantVerdict = VerdictInconclusive // nothing compared proves nothing
			}
			if rep.Summary.Matched != rep.Summary.Cells || rep.Verdict() != wantVerdict || rep.Summary.MatchRate != 1 {
				t.Fatalf("seed %d: self-compare not all matched: %v", seed, counts(rep))
			}
		}
	}
}

func TestPropertySwapSidesMirrors(t *testing.T) {
	for seed := range uint64(propertyRuns) {
		rng := rand.New(rand.NewPCG(seed, 2))
		l, r := randomAnswer(rng), randomAnswer(rng)
		opts := testOptions()
		opts.SampleCap = 1000
		opts.Tolerances = map[string]Tolerance{query.Visitors: {Absolute: 1}}
		opts.Now = t0.Add(time.Duration(rng.IntN(240)) * time.Minute) // some unsettled
		lr, rl := mustCompare(t, l, r, opts), mustCompare(t, r, l, opts)
		want := lr.Summary.Tally
		want.MissingLeft, want.MissingRight = want.MissingRight, want.MissingLeft
		if d := cmp.Diff(want, rl.Summary.Tally); d != "" {
			t.Fatalf("seed %d: swapped tally (-mirrored +got):\n%s", seed, d)
		}
		mirror := func(s []Sample) []Sample {
			out := []Sample{}
			for _, x := range s {
				x.Left, x.Right, x.Delta = x.Right, x.Left, -x.Delta
				out = append(out, x)
			}
			return out
		}
		if d := cmp.Diff(mirror(lr.Samples.MissingLeft), rl.Samples.MissingRight); d != "" {
			t.Fatalf("seed %d: samples not mirrored (-want +got):\n%s", seed, d)
		}
		if d := cmp.Diff(mirror(lr.Samples.ValueDrift), rl.Samples.ValueDrift); d != "" {
			t.Fatalf("seed %d: drift samples not mirrored (-want +got):\n%s", seed, d)
		}
	}
}

func TestPropertyPlantedChangeIsFound(t *testing.T) {
	found := map[Class]int{}
	for seed := range uint64(propertyRuns) {
		rng := rand.New(rand.NewPCG(seed, 3))
		a := randomAnswer(rng)
		if len(a.Series) == 0 {
			continue
		}
		b := cloneAnswer(a)
		si := rng.IntN(len(b.Series))
		s := &b.Series[si]
		metric := []string{query.Pageviews, query.Visitors}[rng.IntN(2)]
		bucket := rng.IntN(40)
		var p *query.Point
		for j := range s.Points {
			if s.Points[j].T.Equal(t0.Add(time.Duration(5*bucket) * time.Minute)) {
				p = &s.Points[j]
			}
		}
		if p == nil {
			s.Points = append(s.Points, pt(5*bucket))
			p = &s.Points[len(s.Points)-1]
		}
		old := p.Values[metric]
		nv := float64(rng.IntN(12))
		if nv == old {
			nv = old + 1
		}
		p.Values[metric] = nv
		want := ValueDrift
		switch {
		case old == 0:
			want = MissingLeft
		case nv == 0:
			want = MissingRight
		}
		rep := mustCompare(t, a, b, testOptions())
		if rep.Summary.Mismatches != 1 || rep.Count(want) != 1 || rep.Summary.Matched != rep.Summary.Compared-1 {
			t.Fatalf("seed %d: planted %s %s@%d %v→%v: counts %v, want one %s", seed, s.Key["url"], metric, bucket, old, nv, counts(rep), want)
		}
		got := firstSample(rep)
		wantS := Sample{Series: s.Key, Bucket: p.T, Metric: metric, Left: old, Right: nv, Delta: nv - old}
		if d := cmp.Diff(wantS, got); d != "" {
			t.Fatalf("seed %d: sample (-want +got):\n%s", seed, d)
		}
		found[want]++
	}
	if found[ValueDrift] == 0 || found[MissingLeft] == 0 || found[MissingRight] == 0 {
		t.Errorf("planted classes not all exercised: %v", found)
	}
}

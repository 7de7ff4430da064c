package wait

import "time"

// LagShare is the detection lag Shaped aims at, as a share of the wait:
// a wait that ends after t is noticed within max(floor, t/LagShare).
const LagShare = 50

// Shaped is the schedule of a wait whose length can be estimated: it
// spends few polls while the end is far and polls densely where the end is
// expected, so the number of polls hardly grows with the wait's length
// while the detection lag stays within max(floor, 2 % of the wait).
//
// expect returns the expected length of the whole wait (0 when unknown);
// it is asked before every pause, so a caller may refine it as the wait
// goes on. A Round.Progress p between 1 and 99 refines it too: a wait p %
// done after Elapsed is expected to last Elapsed·100/p (when that is later
// than expect says).
//
// The pause after a poll at Elapsed t, with E the expected length and
// b(x) = max(floor, x/LagShare) the lag allowed for a wait of length x:
//   - while more than 2·b(E) is left before the expected end: to 2·b(E)
//     before it (in steps of at most the cap, below);
//   - then: to b(E)/2 past the expected end, so a wait that ends when
//     expected is seen by the next poll, b(E)/2 late, and one that ends
//     up to 2·b(E) early is seen at most 2.5·b(E) late;
//   - past the expected end, or with nothing expected: b(t), the lag a
//     wait ending now is allowed — the pauses then grow by 2 % a poll.
//
// No pause is shorter than floor or longer than the cap: max(ceil, E/3)
// (ceil ≤ 0: no cap). A wait that ends much earlier than expected is
// noticed late by at most the pause it is in — at most ceil, or a third
// of the expected length for a long wait, where a fixed cap would cost a
// poll per ceil and the polls would grow with the wait's length again;
// one that ends later than expected costs about LagShare polls per
// doubling of its length.
func Shaped(floor, ceil time.Duration, expect func() time.Duration) Schedule {
	budget := func(x time.Duration) time.Duration { return max(floor, x/LagShare) }
	return func(r Round) time.Duration {
		var e time.Duration
		if expect != nil {
			e = expect()
		}
		if r.Progress > 0 && r.Progress < 100 {
			e = max(e, r.Elapsed*100/time.Duration(r.Progress))
		}
		pause := budget(r.Elapsed)
		if left := e - r.Elapsed; e > 0 && left > 0 {
			if b := budget(e); left > 2*b {
				pause = left - 2*b
			} else {
				pause = left + b/2
			}
		}
		pause = max(pause, floor)
		if ceil > 0 {
			pause = min(pause, max(ceil, e/3))
		}
		return pause
	}
}

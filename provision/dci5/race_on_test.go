//go:build race

package dci5_test

// raceOn: the race detector slows every request several times; the fault
// run uses fewer orders and longer client timeouts under it.
const raceOn = true

//go:build !race

package dci5_test

const raceOn = false

package ipmanagertest

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/netip"
	"strings"
)

// addrRange is one pool range of a group.
type addrRange struct {
	spec        string
	first, last netip.Addr
	hidden      bool
	// cursor is the lowest address of the range that may be free: every
	// address below it is taken. It only moves back on a release.
	cursor netip.Addr
}

// parseRange reads a pool range: a single address, "first-last", or a CIDR
// prefix. For an IPv4 prefix of /30 or wider the network and broadcast
// addresses are left out; for an IPv6 prefix of /126 or wider the all-zero
// (subnet-router anycast) address is left out. "first-last" ranges are used
// exactly as given.
func parseRange(spec string) (*addrRange, error) {
	s := strings.TrimSpace(spec)
	if s == "" {
		return nil, errors.New("empty range")
	}
	var first, last netip.Addr
	switch {
	case strings.Contains(s, "/"):
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("range %q: %v", spec, err)
		}
		p = p.Masked()
		first = p.Addr()
		last = lastOf(p)
		if first.Is4() && p.Bits() <= 30 {
			first, last = first.Next(), last.Prev()
		} else if first.Is6() && p.Bits() <= 126 {
			first = first.Next()
		}
	case strings.Contains(s, "-"):
		a, b, _ := strings.Cut(s, "-")
		var err error
		if first, err = parseAddr(a); err != nil {
			return nil, fmt.Errorf("range %q: %v", spec, err)
		}
		if last, err = parseAddr(b); err != nil {
			return nil, fmt.Errorf("range %q: %v", spec, err)
		}
	default:
		a, err := parseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("range %q: %v", spec, err)
		}
		first, last = a, a
	}
	if first.Is4() != last.Is4() {
		return nil, fmt.Errorf("range %q mixes IPv4 and IPv6", spec)
	}
	if last.Less(first) {
		return nil, fmt.Errorf("range %q ends before it starts", spec)
	}
	return &addrRange{spec: s, first: first, last: last, cursor: first}, nil
}

func parseAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return netip.Addr{}, err
	}
	if a.Zone() != "" {
		return netip.Addr{}, errors.New("zoned addresses are not allowed")
	}
	return a.Unmap(), nil
}

func lastOf(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func (r *addrRange) contains(a netip.Addr) bool {
	return a.Is4() == r.first.Is4() && !a.Less(r.first) && !r.last.Less(a)
}

func (r *addrRange) family() string {
	if r.first.Is4() {
		return "ipv4"
	}
	return "ipv6"
}

// size returns the number of addresses in the range, saturated at
// math.MaxInt64.
func (r *addrRange) size() int64 {
	d := new(big.Int).Sub(new(big.Int).SetBytes(r.last.AsSlice()), new(big.Int).SetBytes(r.first.AsSlice()))
	d.Add(d, big.NewInt(1))
	if !d.IsInt64() {
		return math.MaxInt64
	}
	return d.Int64()
}

// next returns the lowest address of the range not in taken, advancing the
// cursor past taken addresses.
func (r *addrRange) next(taken map[netip.Addr]*record) (netip.Addr, bool) {
	a := r.cursor
	for a.IsValid() && !r.last.Less(a) {
		if _, used := taken[a]; !used {
			r.cursor = a
			return a, true
		}
		a = a.Next()
	}
	// Everything is taken: park the cursor past the end.
	r.cursor = r.last.Next()
	if !r.cursor.IsValid() {
		r.cursor = r.last
	}
	return netip.Addr{}, false
}

// released moves the cursor back so that a is found again.
func (r *addrRange) released(a netip.Addr) {
	if r.contains(a) && a.Less(r.cursor) {
		r.cursor = a
	}
}

package ipmanager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/netip"
	"strings"

	"github.com/ispkit/ispkit/internal/httpx"
	"github.com/ispkit/ispkit/internal/mgr5"
	"github.com/ispkit/ispkit/internal/validate"
)

// Family is an address family as the panel names it.
type Family string

// Address families.
const (
	IPv4 Family = "ipv4"
	IPv6 Family = "ipv6"
)

// State selects allocated or free addresses in List.
type State string

// List states. The zero value lists allocated addresses, as the panel does
// by default.
const (
	// StateUsed lists allocated addresses.
	StateUsed State = "used"
	// StateFree lists pool addresses that are not allocated (when the panel
	// reports them; see the package doc).
	StateFree State = "free"
	// StateAll lists both.
	StateAll State = "all"
)

// Address is one IP address known to the panel.
type Address struct {
	// IP is the address (the element id, elid, of the ip list).
	IP netip.Addr
	// Family is IPv4 or IPv6.
	Family Family
	// Group is the address's IP address group (wire name iptype).
	Group string
	// Domain is the domain the address is assigned to.
	Domain string
	// Note is free text, e.g. the id of the order or server.
	Note string
	// Used is true for an allocated address and false for a free pool
	// address listed with StateFree or StateAll.
	Used bool
	// Hidden is true for a free address from a hidden range: automatic
	// allocation skips it, but it can be allocated by naming it.
	Hidden bool
}

// ListOptions filters List. Empty fields do not filter.
type ListOptions struct {
	// Group keeps addresses of this group (iptype).
	Group string
	// Domain keeps addresses assigned to this domain (case-insensitive).
	Domain string
	// Family keeps addresses of this family.
	Family Family
	// State selects allocated (default), free or all addresses.
	State State
}

type listParams struct {
	Group  string `url:"iptype,omitempty"`
	Domain string `url:"domain,omitempty"`
	Family string `url:"family,omitempty"`
	State  string `url:"state,omitempty"`
}

func checkFamily(op string, f Family, allowEmpty bool) (Family, error) {
	switch Family(strings.ToLower(string(f))) {
	case IPv4:
		return IPv4, nil
	case IPv6:
		return IPv6, nil
	case "":
		if allowEmpty {
			return "", nil
		}
	}
	return "", argErr(op, "Family", `must be "ipv4" or "ipv6"`)
}

func checkText(op, arg, v string) error {
	if why := validate.Text(v, validate.MaxText); why != "" {
		return argErr(op, arg, why)
	}
	return nil
}

// checkDomain accepts an empty domain (none) or a DNS name.
func checkDomain(op, v string) error {
	if v == "" {
		return nil
	}
	if why := validate.Domain(v); why != "" {
		return argErr(op, "Domain", why)
	}
	return nil
}

func checkIP(op string, ip netip.Addr) (netip.Addr, error) {
	if !ip.IsValid() {
		return ip, argErr(op, "IP", "zero address")
	}
	if ip.Zone() != "" {
		return ip, argErr(op, "IP", "zoned addresses are not allowed")
	}
	return ip.Unmap(), nil
}

// ParseIP parses the text form of an address and reports bad text as an
// *ArgumentError.
func ParseIP(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return netip.Addr{}, argErr("ParseIP", "IP", "not an IP address")
	}
	return checkIP("ParseIP", a)
}

func familyOf(a netip.Addr) Family {
	if a.Is4() {
		return IPv4
	}
	return IPv6
}

func rowAddress(r mgr5.Row) (Address, error) {
	ip, err := netip.ParseAddr(strings.TrimSpace(r.Get("ip")))
	if err != nil {
		return Address{}, fmt.Errorf("ipmanager: ip list: row with unreadable address %q", r.Get("ip"))
	}
	ip = ip.Unmap()
	fam := familyOf(ip)
	if f, err := checkFamily("", Family(r.Get("family")), true); err == nil && f != "" {
		fam = f
	}
	return Address{
		IP: ip, Family: fam, Group: r.Get("iptype"), Domain: r.Get("domain"), Note: r.Get("note"),
		Used: !r.Has("free"), Hidden: r.Has("hidden"),
	}, nil
}

// List returns the addresses that match opts, in the panel's order
// (panel function ip; filters sent as iptype, domain, family, state and
// applied again by the client).
func (c *Client) List(ctx context.Context, opts ListOptions) ([]Address, error) {
	r, keep, err := listRequest("List", opts)
	if err != nil {
		return nil, err
	}
	rows, err := c.m.List(ctx, r)
	if err != nil {
		return nil, err
	}
	out := make([]Address, 0, len(rows))
	for _, r := range rows {
		a, err := rowAddress(r)
		if err != nil {
			return nil, err
		}
		if keep(a) {
			out = append(out, a)
		}
	}
	return out, nil
}

// All yields the addresses that match opts, like List, but reads the
// answer as it arrives: memory stays at about one row however many
// addresses the panel holds. A failure (including refused options) is
// yielded once, as the last pair, with a zero Address; breaking out of the
// loop stops the reading. The answer is capped by WithMaxResponseSize and
// the timeout of WithTimeout covers the whole reading, so keep the loop
// body quick.
//
// Calls func=ip, as List.
func (c *Client) All(ctx context.Context, opts ListOptions) iter.Seq2[Address, error] {
	r, keep, err := listRequest("All", opts)
	if err != nil {
		return func(yield func(Address, error) bool) { yield(Address{}, err) }
	}
	return mgr5.All(ctx, c.m, r, func(raw json.RawMessage) (Address, bool, error) {
		var row mgr5.Row
		if err := mgr5.DecodeRow(c.m.Panel(), FuncList, raw, &row); err != nil || row == nil {
			return Address{}, false, err
		}
		a, err := rowAddress(row)
		if err != nil {
			return Address{}, false, err
		}
		return a, keep(a), nil
	})
}

// listRequest checks opts for op and returns the panel request and the
// client-side filter that List and All apply to each row.
func listRequest(op string, opts ListOptions) (mgr5.Request, func(Address) bool, error) {
	fam, err := checkFamily(op, opts.Family, true)
	if err != nil {
		return mgr5.Request{}, nil, err
	}
	switch opts.State {
	case "", StateUsed, StateFree, StateAll:
	default:
		return mgr5.Request{}, nil, argErr(op, "State", `must be "", "used", "free" or "all"`)
	}
	if err := checkText(op, "Group", opts.Group); err != nil {
		return mgr5.Request{}, nil, err
	}
	if err := checkText(op, "Domain", opts.Domain); err != nil {
		return mgr5.Request{}, nil, err
	}
	r := mgr5.Request{Func: FuncList, Class: httpx.SafeRead, Params: listParams{
		Group: opts.Group, Domain: opts.Domain, Family: string(fam), State: string(opts.State),
	}}
	keep := func(a Address) bool {
		switch {
		case opts.Group != "" && a.Group != opts.Group,
			opts.Domain != "" && !strings.EqualFold(a.Domain, opts.Domain),
			fam != "" && a.Family != fam,
			(opts.State == "" || opts.State == StateUsed) && !a.Used,
			opts.State == StateFree && a.Used:
			return false
		}
		return true
	}
	return r, keep, nil
}

// Get returns one allocated address (panel function ip.edit with
// elid=<ip>, without sok). An address that is not allocated gives an error
// matching ErrNotFound.
func (c *Client) Get(ctx context.Context, ip netip.Addr) (Address, error) {
	ip, err := checkIP("Get", ip)
	if err != nil {
		return Address{}, err
	}
	return c.get(ctx, ip)
}

func (c *Client) get(ctx context.Context, ip netip.Addr) (Address, error) {
	d, err := c.m.Call(ctx, mgr5.Request{Func: FuncEdit, Elid: []string{ip.String()}, Class: httpx.SafeRead})
	if err != nil {
		return Address{}, err
	}
	f := d.Form()
	a := Address{IP: ip, Family: familyOf(ip), Group: f["iptype"].Text, Domain: f["domain"].Text, Note: f["note"].Text, Used: true}
	if got, err := netip.ParseAddr(strings.TrimSpace(f["ip"].Text)); err == nil && got.Unmap() != ip {
		return Address{}, fmt.Errorf("ipmanager: Get %s: the panel answered with the form of %s", ip, got)
	}
	return a, nil
}

// AllocateRequest describes an allocation.
type AllocateRequest struct {
	// Family is IPv4 or IPv6. Empty means the family of IP when IP is set,
	// IPv4 otherwise.
	Family Family
	// Group is the IP address group to allocate from (required), e.g.
	// "public" or the parking group.
	Group string
	// Domain is the domain to assign the address to (optional).
	Domain string
	// Note is free text (optional). A unique note, such as an order or
	// operation id, lets FindByDomainNote tell whether an uncertain
	// allocation happened.
	Note string
	// IP, when valid, asks for exactly this address instead of the next
	// free one. It may lie in a hidden range of the group.
	IP netip.Addr
}

type allocateParams struct {
	Family string `url:"family"`
	Group  string `url:"iptype"`
	Domain string `url:"domain,omitempty"`
	Note   string `url:"note,omitempty"`
	IP     string `url:"ip,omitempty"`
}

// Validate checks the request the way Allocate does and returns the
// normalised request (family filled in, IP unmapped).
func (r AllocateRequest) Validate() (AllocateRequest, error) {
	const op = "Allocate"
	fam, err := checkFamily(op, r.Family, true)
	if err != nil {
		return r, err
	}
	if r.IP.IsValid() {
		if r.IP, err = checkIP(op, r.IP); err != nil {
			return r, err
		}
		if fam != "" && fam != familyOf(r.IP) {
			return r, argErr(op, "Family", "does not match the family of IP")
		}
		fam = familyOf(r.IP)
	}
	if fam == "" {
		fam = IPv4
	}
	r.Family = fam
	if strings.TrimSpace(r.Group) == "" {
		return r, argErr(op, "Group", "empty")
	}
	if err := checkText(op, "Group", r.Group); err != nil {
		return r, err
	}
	if err := checkDomain(op, r.Domain); err != nil {
		return r, err
	}
	if err := checkText(op, "Note", r.Note); err != nil {
		return r, err
	}
	return r, nil
}

// Allocate takes the next free address of req.Family in req.Group, or the
// fixed address req.IP, and assigns it to req.Domain (panel function
// ip.edit with sok=ok and no elid). It is sent exactly once: a group with
// no free address gives a *PoolExhaustedError (ErrPoolExhausted); a fixed
// address already taken gives ErrExists; a failure after which the
// allocation may still have happened gives an *UncertainError
// (ErrMayHaveHappened): check with FindByDomainNote before trying again.
func (c *Client) Allocate(ctx context.Context, req AllocateRequest) (Address, error) {
	req, err := req.Validate()
	if err != nil {
		return Address{}, err
	}
	p := allocateParams{Family: string(req.Family), Group: req.Group, Domain: req.Domain, Note: req.Note}
	if req.IP.IsValid() {
		p.IP = req.IP.String()
	}
	d, err := c.m.Exec(ctx, mgr5.Request{Func: FuncEdit, Sok: true, Params: p, Class: httpx.NonIdempotent})
	if err != nil {
		return Address{}, classifyAllocate(err, req.Group, req.Family)
	}
	text := d.ID()
	if text == "" {
		text = d.Text("ip")
	}
	ip, perr := netip.ParseAddr(strings.TrimSpace(text))
	if perr != nil {
		return Address{}, &UncertainError{Op: "Allocate", Err: fmt.Errorf("the answer names no readable address (id %q)", text)}
	}
	ip = ip.Unmap()
	if req.IP.IsValid() && ip != req.IP {
		return Address{}, fmt.Errorf("ipmanager: Allocate: asked for %s, the panel allocated %s", req.IP, ip)
	}
	return Address{IP: ip, Family: familyOf(ip), Group: req.Group, Domain: req.Domain, Note: req.Note, Used: true}, nil
}

// FindByDomainNote returns the allocated addresses assigned to domain whose
// note is exactly note (panel function ip, filtered by domain). Use it after
// an Allocate that failed with ErrMayHaveHappened to learn whether the
// allocation went through. At least one of domain and note must be given;
// an empty domain matches addresses of any domain.
func (c *Client) FindByDomainNote(ctx context.Context, domain, note string) ([]Address, error) {
	const op = "FindByDomainNote"
	if domain == "" && note == "" {
		return nil, argErr(op, "domain and note", "both empty")
	}
	if err := checkDomain(op, domain); err != nil {
		return nil, err
	}
	all, err := c.List(ctx, ListOptions{Domain: domain})
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, a := range all {
		if a.Note == note {
			out = append(out, a)
		}
	}
	return out, nil
}

type editParams struct {
	IP     string `url:"ip"`
	Family string `url:"family"`
	Group  string `url:"iptype"`
	Domain string `url:"domain"`
	Note   string `url:"note"`
}

// update reads the form of ip, applies change and sends the whole form back
// (ip.edit elid=<ip> sok=ok).
func (c *Client) update(ctx context.Context, op string, ip netip.Addr, change func(*Address)) (Address, error) {
	ip, err := checkIP(op, ip)
	if err != nil {
		return Address{}, err
	}
	a, err := c.get(ctx, ip)
	if err != nil {
		return Address{}, err
	}
	change(&a)
	_, err = c.m.Exec(ctx, mgr5.Request{Func: FuncEdit, Elid: []string{ip.String()}, Sok: true, Class: httpx.IdempotentWrite,
		Params: editParams{IP: ip.String(), Family: string(a.Family), Group: a.Group, Domain: a.Domain, Note: a.Note}})
	if err != nil {
		return Address{}, err
	}
	return a, nil
}

// SetDomain assigns an allocated address to domain ("" clears it) and
// returns the address as changed (panel function ip.edit elid=<ip> sok=ok).
func (c *Client) SetDomain(ctx context.Context, ip netip.Addr, domain string) (Address, error) {
	if err := checkDomain("SetDomain", domain); err != nil {
		return Address{}, err
	}
	return c.update(ctx, "SetDomain", ip, func(a *Address) { a.Domain = domain })
}

// SetNote sets the note of an allocated address ("" clears it) and returns
// the address as changed (panel function ip.edit elid=<ip> sok=ok).
func (c *Client) SetNote(ctx context.Context, ip netip.Addr, note string) (Address, error) {
	if err := checkText("SetNote", "note", note); err != nil {
		return Address{}, err
	}
	return c.update(ctx, "SetNote", ip, func(a *Address) { a.Note = note })
}

// ChangeGroup re-types an allocated address to another group, e.g. a parked
// server's address from the parking group to "public" when the integration
// never changes addresses (panel function ip.edit elid=<ip> sok=ok
// iptype=<group>). The address itself does not change.
func (c *Client) ChangeGroup(ctx context.Context, ip netip.Addr, group string) (Address, error) {
	if strings.TrimSpace(group) == "" {
		return Address{}, argErr("ChangeGroup", "group", "empty")
	}
	if err := checkText("ChangeGroup", "group", group); err != nil {
		return Address{}, err
	}
	return c.update(ctx, "ChangeGroup", ip, func(a *Address) { a.Group = group })
}

// Release gives allocated addresses back to their pools (panel function
// ip.delete elid=<ip>[, <ip>…]; the fake releases all or none). Releasing
// an address that is not allocated gives ErrNotFound, which a caller
// retrying a release can treat as done.
func (c *Client) Release(ctx context.Context, ips ...netip.Addr) error {
	if len(ips) == 0 {
		return argErr("Release", "ips", "none given")
	}
	elids := make([]string, len(ips))
	for i, ip := range ips {
		ip, err := checkIP("Release", ip)
		if err != nil {
			return err
		}
		elids[i] = ip.String()
	}
	_, err := c.m.Exec(ctx, mgr5.Request{Func: FuncDelete, Elid: elids, Class: httpx.IdempotentWrite})
	return err
}

// Unpark moves a server off its parking address. With keepAddress (the
// integration never changes addresses) the parked address is re-typed to
// req.Group and given req.Domain and req.Note (one ip.edit). Otherwise a
// new address is allocated with req (ip.edit) and then the parked one is
// released (ip.delete). If the release fails, the new address is returned
// together with the error, so that the caller can keep it and retry the
// release.
func (c *Client) Unpark(ctx context.Context, parked netip.Addr, req AllocateRequest, keepAddress bool) (Address, error) {
	parked, err := checkIP("Unpark", parked)
	if err != nil {
		return Address{}, err
	}
	if keepAddress {
		if req.IP.IsValid() && req.IP.Unmap() != parked {
			return Address{}, argErr("Unpark", "IP", "must be empty or the parked address when keeping the address")
		}
		req.IP = parked
		if req, err = req.Validate(); err != nil {
			return Address{}, err
		}
		return c.update(ctx, "Unpark", parked, func(a *Address) {
			a.Group, a.Domain, a.Note = req.Group, req.Domain, req.Note
		})
	}
	a, err := c.Allocate(ctx, req)
	if err != nil {
		return Address{}, err
	}
	if err := c.Release(ctx, parked); err != nil && !errors.Is(err, ErrNotFound) {
		return a, fmt.Errorf("ipmanager: Unpark: allocated %s but could not release the parked address %s: %w", a.IP, parked, err)
	}
	return a, nil
}

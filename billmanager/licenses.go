package billmanager

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/internal/httpx"
	"github.com/ispkit/ispkit/internal/mgr5"
)

// License is an ISPsystem software license held on the licensing server.
//
// Key is a secret of sorts (it activates the software): String, GoString
// and LogValue print it as "[REDACTED]".
type License struct {
	// ID is the license's id on the licensing server (elid).
	ID string
	// Name is the license name (licname). ispkit names a server's license
	// with [LicenseName], so that it can be found again.
	Name string
	// IP is the address the license is bound to (0.0.0.0 in the pool).
	IP netip.Addr
	// Pricelist is the tariff code, for example 55227 (ISPmanager 6 Lite).
	Pricelist int64
	// Status is the license's service status (zero when not read).
	Status billing.Status
	// StatusText is BILLmanager's status message (status_msg), if any.
	StatusText string
	// ExpireDate is the end of the paid period (date only, UTC); zero when
	// not known.
	ExpireDate time.Time
	// Key is the license key (lickey); empty until BILLmanager generated
	// it (see [Client.Get]) and in list results.
	Key string
}

// Free reports whether the license is in the pool of licenses waiting for
// a new server: named "free.lic" with IP 0.0.0.0 (the convention of
// BILLmanager's own DCImanager module).
func (l License) Free() bool {
	return l.Name == freeName && l.IP == netip.IPv4Unspecified()
}

// String implements fmt.Stringer without the key.
func (l License) String() string {
	exp := ""
	if !l.ExpireDate.IsZero() {
		exp = l.ExpireDate.Format(time.DateOnly)
	}
	key := ""
	if l.Key != "" {
		key = "[REDACTED]"
	}
	return fmt.Sprintf("{ID:%s Name:%s IP:%s Pricelist:%d Status:%s ExpireDate:%s Key:%s}", l.ID, l.Name, l.IP, l.Pricelist, l.Status, exp, key)
}

// GoString implements fmt.GoStringer without the key.
func (l License) GoString() string { return "billmanager.License" + l.String() }

// LogValue implements slog.LogValuer without the key.
func (l License) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", l.ID), slog.String("name", l.Name), slog.String("ip", l.IP.String()),
		slog.Int64("pricelist", l.Pricelist), slog.String("status", string(l.Status)), slog.Bool("has_key", l.Key != ""))
}

// LicenseName is the name ispkit gives the license of a server: "Item #<service id> addon <server name>", the
// template BILLmanager's own DCImanager module uses for the licenses it
// orders ("Processing of ISPsystem licenses"). It is what [Client.Find]
// looks for after an order whose answer was lost.
func LicenseName(serviceID, serverName string) string {
	return "Item #" + serviceID + " addon " + serverName
}

// OrderRequest is one license order.
type OrderRequest struct {
	// Pricelist is the license tariff code (required), for example 55227
	// ISPmanager 6 Lite, 55228 Pro, 55229 Host, 55230 Business.
	Pricelist int64
	// Period is the paid period in months: 1 or 12 (required).
	Period int
	// IP is the server's address the license is for (required; a
	// specific IPv4 or IPv6 address).
	IP netip.Addr
	// Name is the license name (required, at most 255 characters, no
	// control characters). Use [LicenseName]: a unique name is how an
	// order whose answer was lost is found again.
	Name string
	// AutoProlong is the automatic renewal period in months: 0 (none,
	// sent as "null"), 1 or 12.
	AutoProlong int
	// RemoteID is the buyer's own reference for the license (optional).
	RemoteID string
	// Project is the provider (project) id to order from (optional; 0 sends
	// none).
	Project int64
}

func checkName(op, arg, name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return argErr(op, arg, "required")
	case len(name) > 255:
		return argErr(op, arg, "longer than 255 bytes")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return argErr(op, arg, "contains control characters")
	}
	return nil
}

func checkIP(op string, ip netip.Addr) error {
	if !ip.IsValid() || ip.IsUnspecified() {
		return argErr(op, "IP", "a specific IPv4 or IPv6 address is required")
	}
	return nil
}

func checkID(op, id string) error {
	if n, err := strconv.ParseInt(id, 10, 64); err != nil || n <= 0 {
		return argErr(op, "id", "must be a positive decimal license id")
	}
	return nil
}

// Validate checks r and returns the first problem as an *ArgumentError.
func (r OrderRequest) Validate() error {
	const op = "Order"
	if r.Pricelist <= 0 {
		return argErr(op, "Pricelist", "must be a positive tariff code")
	}
	if r.Period != 1 && r.Period != 12 {
		return argErr(op, "Period", "must be 1 or 12 months")
	}
	if err := checkIP(op, r.IP); err != nil {
		return err
	}
	if err := checkName(op, "Name", r.Name); err != nil {
		return err
	}
	if r.Name == freeName {
		return argErr(op, "Name", `"free.lic" marks licenses in the pool`)
	}
	if r.AutoProlong != 0 && r.AutoProlong != 1 && r.AutoProlong != 12 {
		return argErr(op, "AutoProlong", "must be 0, 1 or 12 months")
	}
	if r.RemoteID != "" {
		if err := checkName(op, "RemoteID", r.RemoteID); err != nil {
			return err
		}
	}
	if r.Project < 0 {
		return argErr(op, "Project", "must not be negative")
	}
	return nil
}

// Order buys a license (soft.order.param with skipbasket=on: charged to the
// account and activated at once) and returns it with the id BILLmanager
// gave it. The key is generated afterwards: read it with Get.
//
// Order is sent exactly once, never retried. When it fails after the
// request may have reached BILLmanager it returns an *UncertainError
// (ErrMayHaveHappened): look for the license with Find(req.Name, req.IP)
// before ordering again, or the account pays twice.
func (c *Client) Order(ctx context.Context, req OrderRequest) (License, error) {
	if err := req.Validate(); err != nil {
		return License{}, err
	}
	v := url.Values{
		pPricelist:     {strconv.FormatInt(req.Pricelist, 10)},
		pPeriod:        {strconv.Itoa(req.Period)},
		pIP:            {req.IP.String()},
		pLicName:       {req.Name},
		pAutoProlong:   {vNoProlong},
		pSkipBasket:    {vSkipBasket},
		pClickedButton: {vFinish},
	}
	if req.AutoProlong != 0 {
		v.Set(pAutoProlong, strconv.Itoa(req.AutoProlong))
	}
	if req.RemoteID != "" {
		v.Set(pRemoteID, req.RemoteID)
	}
	if req.Project != 0 {
		v.Set(pProject, strconv.FormatInt(req.Project, 10))
	}
	d, err := c.m.Exec(ctx, mgr5.Request{Func: fnOrder, Sok: true, Params: v, Class: httpx.NonIdempotent})
	if err != nil {
		return License{}, uncertain("Order", err)
	}
	id := strings.TrimSpace(d.ID())
	if checkID("Order", id) != nil {
		return License{}, &UncertainError{Op: "Order", Err: fmt.Errorf("the answer names no license id (%q)", id)}
	}
	return License{ID: id, Name: req.Name, IP: req.IP, Pricelist: req.Pricelist}, nil
}

// Get returns license id with its key and expiry date (soft.edit, elid) and
// its status (from the soft list). Right after an order Key may still be
// empty: BILLmanager generates it asynchronously; read again later. An
// unknown id gives an error matching ErrNotFound.
func (c *Client) Get(ctx context.Context, id string) (License, error) {
	if err := checkID("Get", id); err != nil {
		return License{}, err
	}
	d, err := c.m.Call(ctx, mgr5.Request{Func: fnEdit, Elid: []string{id}, Class: httpx.SafeRead})
	if err != nil {
		return License{}, err
	}
	f := d.Form()
	l, err := license(id, func(k string) string { return f[k].Text })
	if err != nil {
		return License{}, err
	}
	l.Key = strings.TrimSpace(f[answerKey].Text)
	all, err := c.List(ctx)
	if err != nil {
		return License{}, err
	}
	for _, r := range all {
		if r.ID == id {
			l.Status, l.StatusText = r.Status, r.StatusText
			return l, nil
		}
	}
	return License{}, fmt.Errorf("billmanager: license %s is not in the account's list: %w", id, ErrNotFound)
}

// license reads the common fields of a list row or an edit form.
func license(id string, get func(string) string) (License, error) {
	l := License{ID: id, Name: get(pLicName)}
	if s := strings.TrimSpace(get(pIP)); s != "" {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return License{}, fmt.Errorf("billmanager: license %s: unreadable ip %q", id, s)
		}
		l.IP = ip.Unmap()
	}
	if s := strings.TrimSpace(get(pPricelist)); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return License{}, fmt.Errorf("billmanager: license %s: unreadable pricelist %q", id, s)
		}
		l.Pricelist = n
	}
	if s := strings.TrimSpace(get(answerExpire)); s != "" {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return License{}, fmt.Errorf("billmanager: license %s: unreadable expiredate %q", id, s)
		}
		l.ExpireDate = t
	}
	return l, nil
}

// parseStatus reads item_status [G]: BILLmanager's numeric item status (1
// ordered, 2 active, 3 suspended, 4 deleted, 5 processing, the same
// inference as billing.Status.Code) or a status name.
func parseStatus(s string) billing.Status {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		st, _ := billing.StatusFromCode(n)
		return st
	}
	for _, st := range []billing.Status{billing.StatusOrdered, billing.StatusActive, billing.StatusSuspended, billing.StatusDeleted, billing.StatusProcessing} {
		if strings.EqualFold(s, string(st)) {
			return st
		}
	}
	return ""
}

// List returns the account's licenses (the soft list), without keys.
func (c *Client) List(ctx context.Context) ([]License, error) {
	rows, err := c.m.List(ctx, mgr5.Request{Func: fnList, Class: httpx.SafeRead})
	if err != nil {
		return nil, err
	}
	out := make([]License, 0, len(rows))
	for _, r := range rows {
		l, err := license(strings.TrimSpace(r.Get(colID)), r.Get)
		if err != nil {
			return nil, err
		}
		l.Status, l.StatusText = parseStatus(r.Get(colStatus)), r.Get(colStatusMsg)
		out = append(out, l)
	}
	return out, nil
}

// Find returns the licenses named name (exactly) whose IP is ip; an invalid
// ip matches any address. It is how an order whose answer was lost is
// found again ([UncertainError]).
func (c *Client) Find(ctx context.Context, name string, ip netip.Addr) ([]License, error) {
	if err := checkName("Find", "name", name); err != nil {
		return nil, err
	}
	all, err := c.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []License
	for _, l := range all {
		if l.Name == name && (!ip.IsValid() || l.IP == ip.Unmap()) {
			out = append(out, l)
		}
	}
	return out, nil
}

// Pool returns the licenses of tariff pricelist waiting in the pool (see
// [License.Free]) that are active or suspended, as BILLmanager's DCImanager
// module looks for them before ordering a new one. Its other conditions
// (expiry date in the future, last IP and key changes more than a month
// ago) are not visible in the list; Get and the licensing server's own
// refusal tell.
func (c *Client) Pool(ctx context.Context, pricelist int64) ([]License, error) {
	all, err := c.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []License
	for _, l := range all {
		if l.Free() && l.Pricelist == pricelist && (l.Status == billing.StatusActive || l.Status == billing.StatusSuspended) {
			out = append(out, l)
		}
	}
	return out, nil
}

// Suspend suspends license id (soft.suspend). Suspending a suspended
// license is left to BILLmanager.
func (c *Client) Suspend(ctx context.Context, id string) error {
	if err := checkID("Suspend", id); err != nil {
		return err
	}
	_, err := c.m.Exec(ctx, mgr5.Request{Func: fnSuspend, Elid: []string{id}, Class: httpx.IdempotentWrite})
	return err
}

// Resume resumes license id (soft.resume).
func (c *Client) Resume(ctx context.Context, id string) error {
	if err := checkID("Resume", id); err != nil {
		return err
	}
	_, err := c.m.Exec(ctx, mgr5.Request{Func: fnResume, Elid: []string{id}, Class: httpx.IdempotentWrite})
	return err
}

// Edit renames license id and binds it to ip (soft.edit with licname and
// ip), for example to give a pooled license to a new server. Name follows
// the rules of OrderRequest.Name; ip must be a specific address.
func (c *Client) Edit(ctx context.Context, id, name string, ip netip.Addr) error {
	if err := checkID("Edit", id); err != nil {
		return err
	}
	if err := checkName("Edit", "name", name); err != nil {
		return err
	}
	if err := checkIP("Edit", ip); err != nil {
		return err
	}
	return c.edit(ctx, id, name, ip.String())
}

func (c *Client) edit(ctx context.Context, id, name, ip string) error {
	_, err := c.m.Exec(ctx, mgr5.Request{Func: fnEdit, Elid: []string{id}, Sok: true,
		Params: url.Values{pLicName: {name}, pIP: {ip}}, Class: httpx.IdempotentWrite})
	return err
}

// NewKey makes BILLmanager generate a new key for license id (soft.edit
// with clicked_button=newkey) and returns it; "" when the answer carries
// none yet (read it with Get). It is not retried: a second call would
// replace the key again.
func (c *Client) NewKey(ctx context.Context, id string) (string, error) {
	if err := checkID("NewKey", id); err != nil {
		return "", err
	}
	d, err := c.m.Call(ctx, mgr5.Request{Func: fnEdit, Elid: []string{id}, Sok: true,
		Params: url.Values{pClickedButton: {vNewKey}}, Class: httpx.NonIdempotent})
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(d.Text(answerKey)), nil
}

// Prolong renews license id for period months (1 or 12; service.prolong)
// and returns the new expiry date (zero when the answer does not say). It
// is not retried: a repeat would pay twice.
func (c *Client) Prolong(ctx context.Context, id string, period int) (time.Time, error) {
	if err := checkID("Prolong", id); err != nil {
		return time.Time{}, err
	}
	if period != 1 && period != 12 {
		return time.Time{}, argErr("Prolong", "period", "must be 1 or 12 months")
	}
	d, err := c.m.Exec(ctx, mgr5.Request{Func: fnProlong, Elid: []string{id}, Sok: true,
		Params: url.Values{pPeriod: {strconv.Itoa(period)}}, Class: httpx.NonIdempotent})
	if err != nil {
		return time.Time{}, uncertain("Prolong", err)
	}
	var inner map[string]mgr5.Value
	s := d.Text(answerNewExp)
	if err := d.Into("doc", &inner); err == nil && inner[answerNewExp].Text != "" {
		s = inner[answerNewExp].Text
	}
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, fmt.Errorf("billmanager: Prolong %s: unreadable newexpiredate %q", id, s)
	}
	return t, nil
}

// Close takes license id off its server the way BILLmanager's own
// DCImanager module does: it suspends the license and puts it back into the
// pool (name "free.lic", IP 0.0.0.0), where [Client.Pool] finds it for the
// next server. The license stays on the account until it expires; delete
// it on the licensing server to stop paying for it. Closing a license that
// is already in the pool suspends it again and changes nothing else.
func (c *Client) Close(ctx context.Context, id string) error {
	if err := c.Suspend(ctx, id); err != nil {
		return err
	}
	return c.edit(ctx, id, freeName, freeIP)
}

// LicenseServer is what the provisioning engine needs from a licensing
// server to sell a license with a dedicated server; *Client implements it.
// The engine's step after the OS install:
//
//  1. Find(LicenseName(service, server), ip): a license from an earlier
//     try that lost its answer is reused, never bought twice;
//  2. otherwise Order it (on an *UncertainError go back to 1);
//  3. Get until Key is set, and keep ID and Key on the service;
//  4. Suspend, Resume and Close it with the server.
type LicenseServer interface {
	Order(ctx context.Context, req OrderRequest) (License, error)
	Get(ctx context.Context, id string) (License, error)
	Find(ctx context.Context, name string, ip netip.Addr) ([]License, error)
	Suspend(ctx context.Context, id string) error
	Resume(ctx context.Context, id string) error
	Close(ctx context.Context, id string) error
}

var _ LicenseServer = (*Client)(nil)

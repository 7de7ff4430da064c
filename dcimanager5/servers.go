package dcimanager5

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"unicode"

	"github.com/ispkit/ispkit/internal/httpx"
	"github.com/ispkit/ispkit/internal/mgr5"
	"github.com/ispkit/ispkit/internal/validate"
)

// ServersService manages servers. Get it from Client.Servers.
type ServersService service

// Server is one row of the server list (func=server).
type Server struct {
	// ID is the server id (the elid of every server.* function).
	ID int64
	// Name is the server's label.
	Name string
	// Hostname is the domain of the main IP; "free.ds" marks a free server.
	Hostname string
	// IP is the main IP address.
	IP string
	// Owner is the numeric id of the owning user; 0 means no owner.
	Owner int64
	// OwnerName is the owner column when the panel shows a name rather than
	// a numeric id (then Owner is 0); empty when there is no owner.
	OwnerName string
	// ChassisTemplate is the configuration (chassis_templ), matched against
	// the billing package name.
	ChassisTemplate string
	// Type is the server type (older panels match the package on it).
	Type string
	// ChassisName is the generated description (gen_chassis_name).
	ChassisName string
	// Rack is the rack label.
	Rack string
	// IPMI is the IPMI name shown in the list, if any.
	IPMI string

	// Availability flags.
	Blocked, HWProblem, DiagInProgress, Disabled bool
	// Power flags.
	PowerOn, PowerOff, PowerError bool
	// OS installation flags: the install is finished when neither is set.
	InstallInProgress, OperationFailed bool

	chassisOrig, typeOrig string
}

// HasOwner reports whether the server has an owner.
func (s Server) HasOwner() bool { return s.Owner != 0 || s.OwnerName != "" }

// Available reports whether the server can be sold for the package config,
// following the rule of the official WHMCS module: no owner, hostname
// free.ds, not blocked, no hardware problem, no diagnostics running, and
// config equal to the chassis template or the type (as displayed or as the
// untranslated $orig value). An empty config matches any server.
func (s Server) Available(config string) bool {
	if s.HasOwner() || s.Hostname != FreeHostname || s.Blocked || s.HWProblem || s.DiagInProgress {
		return false
	}
	if config == "" {
		return true
	}
	for _, v := range []string{s.ChassisTemplate, s.Type, s.chassisOrig, s.typeOrig} {
		if v != "" && v == config {
			return true
		}
	}
	return false
}

// Installed reports whether no OS installation is running or failed.
func (s Server) Installed() bool { return !s.InstallInProgress && !s.OperationFailed }

type wireServer struct {
	ID             text `json:"id"`
	Name           text `json:"name"`
	Hostname       text `json:"hostname"`
	IP             text `json:"ip"`
	Owner          text `json:"owner"`
	ChassisTempl   text `json:"chassis_templ"`
	Type           text `json:"type"`
	GenChassisName text `json:"gen_chassis_name"`
	Rack           text `json:"rack"`
	IPMI           text `json:"ipmi"`

	Blocked           flag `json:"blocked"`
	HWProblem         flag `json:"hwproblem"`
	DiagInProgress    flag `json:"diag_in_progress"`
	Disabled          flag `json:"disabled"`
	PowerOn           flag `json:"poweron"`
	PowerOff          flag `json:"poweroff"`
	PowerError        flag `json:"powererror"`
	InstallInProgress flag `json:"install_in_progress"`
	OperationFailed   flag `json:"operation_failed"`
}

func (w *wireServer) server() Server {
	s := Server{
		Name: w.Name.T, Hostname: w.Hostname.T, IP: w.IP.T,
		ChassisTemplate: w.ChassisTempl.T, Type: w.Type.T, ChassisName: w.GenChassisName.T,
		Rack: w.Rack.T, IPMI: w.IPMI.T,
		Blocked: bool(w.Blocked), HWProblem: bool(w.HWProblem), DiagInProgress: bool(w.DiagInProgress),
		Disabled: bool(w.Disabled), PowerOn: bool(w.PowerOn), PowerOff: bool(w.PowerOff),
		PowerError: bool(w.PowerError), InstallInProgress: bool(w.InstallInProgress),
		OperationFailed: bool(w.OperationFailed),
		chassisOrig:     w.ChassisTempl.Orig, typeOrig: w.Type.Orig,
	}
	s.ID, _ = parseID(w.ID.T)
	if o := strings.TrimSpace(w.Owner.T); o != "" && o != NoOwner {
		if id, ok := parseID(o); ok {
			s.Owner = id
		} else {
			s.OwnerName = o
		}
	}
	return s
}

// decodeServers turns a server list document into typed rows.
func decodeServers(d *mgr5.Doc) ([]Server, error) {
	if !d.Has("elem") {
		return nil, nil
	}
	var raw json.RawMessage
	if err := d.Into("elem", &raw); err == nil {
		if out, ok := fastServers(raw); ok {
			return out, nil
		}
	}
	ws, err := elems[wireServer](d, "server")
	if err != nil {
		return nil, err
	}
	out := make([]Server, len(ws))
	for i := range ws {
		out[i] = ws[i].server()
	}
	return out, nil
}

// decodeServerList decodes a raw server list body: in one pass with the
// shared scanner (fastServerList) when it can, otherwise through Decode and
// decodeServers, which give the same result and every error.
func decodeServerList(panel string, body []byte) ([]Server, error) {
	if out, ok := fastServerList(body); ok {
		return out, nil
	}
	d, err := mgr5.Decode(panel, "server", body)
	if err != nil {
		return nil, err
	}
	return decodeServers(d)
}

// List returns every server visible to the client (an end user sees only
// their own). The panel answers the whole list at once.
//
// Calls func=server.
func (s *ServersService) List(ctx context.Context) ([]Server, error) {
	// The list may hold thousands of rows: take the raw body (doc.error is
	// still checked) and scan it once instead of decoding it twice.
	body, err := s.c.m.CallRaw(ctx, mgr5.Request{Func: "server", Class: httpx.SafeRead})
	if err != nil {
		return nil, err
	}
	return decodeServerList(s.c.m.Panel(), body)
}

// Get returns the list row of server id, or an error matching IsNotFound.
// DCImanager 5 has no single-server read, so this lists all servers.
//
// Calls func=server.
func (s *ServersService) Get(ctx context.Context, id int64) (*Server, error) {
	if err := checkID("Servers.Get", "id", id); err != nil {
		return nil, err
	}
	all, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	for i := range all {
		if all[i].ID == id {
			return &all[i], nil
		}
	}
	return nil, fmt.Errorf("dcimanager5: server %d is not in the server list: %w", id, ErrNotFound)
}

// ListAvailable returns the servers for which Available(config) holds, in
// list order.
//
// Calls func=server.
func (s *ServersService) ListAvailable(ctx context.Context, config string) ([]Server, error) {
	all, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []Server
	for _, sv := range all {
		if sv.Available(config) {
			out = append(out, sv)
		}
	}
	return out, nil
}

// ServerForm is the server edit form (func=server.edit without sok).
type ServerForm struct {
	ID    int64
	Name  string
	MAC   string
	Notes string
	Type  string
	// Owner is the owning user's id; 0 means no owner.
	Owner int64
	// Disabled is true when the server is blocked (server.disable).
	Disabled bool
	// Fields holds every field of the form as text, including the above.
	Fields map[string]string
}

// Form reads the edit form of server id.
//
// Calls func=server.edit.
func (s *ServersService) Form(ctx context.Context, id int64) (*ServerForm, error) {
	if err := checkID("Servers.Form", "id", id); err != nil {
		return nil, err
	}
	d, err := s.c.call(ctx, mgr5.Request{Func: "server.edit", Elid: []string{idStr(id)}, Class: httpx.SafeRead})
	if err != nil {
		return nil, err
	}
	f := &ServerForm{ID: id, Fields: map[string]string{}}
	for k, v := range d.Form() {
		f.Fields[k] = v.Text
	}
	f.Name, f.MAC, f.Notes, f.Type = f.Fields["name"], f.Fields["mac"], f.Fields["notes"], f.Fields["type"]
	if o, ok := parseID(f.Fields["owner"]); ok {
		f.Owner = o
	}
	f.Disabled = mgr5.ParseOnOff(f.Fields["disabled"])
	return f, nil
}

// ServerUpdate lists the form fields to change; nil fields keep their
// current value.
type ServerUpdate struct {
	Name  *string
	MAC   *string
	Notes *string
	Type  *string
	// Owner sets the owning user id; a pointer to 0 clears the owner.
	Owner *int64
	// Check, when set, is called with the form as read, before anything
	// is changed: an error stops the update (nothing is sent) and Update
	// returns it. It makes the update conditional on the server's state
	// in the same read (for example: the owner is still the one expected).
	Check func(*ServerForm) error
}

type serverEditParams struct {
	Name  string `url:"name"`
	MAC   string `url:"mac"`
	Notes string `url:"notes"`
	Type  string `url:"type"`
	Owner string `url:"owner"`
}

// Update changes server fields with a read-modify-write: it reads the form,
// applies the non-nil fields of u, and sends name, mac, notes, type and
// owner together, so the fields it does not change keep their values (a
// form commit may clear fields it does not receive). It returns the form as
// sent.
//
// Calls func=server.edit (view, then sok=ok).
func (s *ServersService) Update(ctx context.Context, id int64, u ServerUpdate) (*ServerForm, error) {
	if err := checkID("Servers.Update", "id", id); err != nil {
		return nil, err
	}
	if u.Owner != nil && *u.Owner < 0 {
		return nil, argErr("Servers.Update", "Owner", "negative user id")
	}
	for name, p := range map[string]*string{"Name": u.Name, "MAC": u.MAC, "Notes": u.Notes, "Type": u.Type} {
		if p == nil {
			continue
		}
		max := validate.MaxText
		if name != "Notes" {
			max = 255
		}
		if why := validate.Text(*p, max); why != "" {
			return nil, argErr("Servers.Update", name, why)
		}
	}
	f, err := s.Form(ctx, id)
	if err != nil {
		return nil, err
	}
	if u.Check != nil {
		if err := u.Check(f); err != nil {
			return nil, err
		}
	}
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&f.Name, u.Name)
	set(&f.MAC, u.MAC)
	set(&f.Notes, u.Notes)
	set(&f.Type, u.Type)
	if u.Owner != nil {
		f.Owner = *u.Owner
	}
	p := serverEditParams{Name: f.Name, MAC: f.MAC, Notes: f.Notes, Type: f.Type, Owner: NoOwner}
	if f.Owner != 0 {
		p.Owner = idStr(f.Owner)
	}
	_, err = s.c.exec(ctx, mgr5.Request{Func: "server.edit", Elid: []string{idStr(id)}, Sok: true, Params: p, Class: httpx.IdempotentWrite})
	if err != nil {
		return nil, err
	}
	f.Fields["name"], f.Fields["mac"], f.Fields["notes"], f.Fields["type"], f.Fields["owner"] = p.Name, p.MAC, p.Notes, p.Type, p.Owner
	return f, nil
}

// SetOwner makes user userID the owner of server id (reserving a server
// sets the administrator as owner), keeping the other form fields.
//
// Calls func=server.edit (view, then sok=ok).
func (s *ServersService) SetOwner(ctx context.Context, id, userID int64) error {
	if err := checkID("Servers.SetOwner", "userID", userID); err != nil {
		return err
	}
	_, err := s.Update(ctx, id, ServerUpdate{Owner: &userID})
	return err
}

// ClearOwner removes the owner of server id (owner=no_owner), keeping the
// other form fields.
//
// Calls func=server.edit (view, then sok=ok).
func (s *ServersService) ClearOwner(ctx context.Context, id int64) error {
	var none int64
	_, err := s.Update(ctx, id, ServerUpdate{Owner: &none})
	return err
}

func (s *ServersService) group(ctx context.Context, op, fn string, id int64, class httpx.Class, extra url.Values) error {
	if err := checkID(op, "id", id); err != nil {
		return err
	}
	_, err := s.c.exec(ctx, mgr5.Request{Func: fn, Elid: []string{idStr(id)}, Params: extra, Class: class})
	return err
}

// Enable unblocks server id (billing "unsuspend").
//
// Calls func=server.enable.
func (s *ServersService) Enable(ctx context.Context, id int64) error {
	return s.group(ctx, "Servers.Enable", "server.enable", id, httpx.IdempotentWrite, nil)
}

// Disable blocks server id (billing "suspend").
//
// Calls func=server.disable.
func (s *ServersService) Disable(ctx context.Context, id int64) error {
	return s.group(ctx, "Servers.Disable", "server.disable", id, httpx.IdempotentWrite, nil)
}

// PowerOn starts powering server id on. The call returns at once; use
// WaitPoweredOn.
//
// Calls func=server.poweron.
func (s *ServersService) PowerOn(ctx context.Context, id int64) error {
	return s.group(ctx, "Servers.PowerOn", "server.poweron", id, httpx.IdempotentWrite, nil)
}

// PowerOff starts powering server id off. The call returns at once; use
// WaitPoweredOff.
//
// Calls func=server.poweroff.
func (s *ServersService) PowerOff(ctx context.Context, id int64) error {
	return s.group(ctx, "Servers.PowerOff", "server.poweroff", id, httpx.IdempotentWrite, nil)
}

// Reboot restarts server id. It is sent once (never retried), because a
// repeated reboot is not harmless.
//
// Calls func=server.reboot.
func (s *ServersService) Reboot(ctx context.Context, id int64) error {
	return s.group(ctx, "Servers.Reboot", "server.reboot", id, httpx.NonIdempotent, nil)
}

// CancelOperation cancels the running operation (an OS install) of server
// id.
//
// Calls func=server.opercancel.
func (s *ServersService) CancelOperation(ctx context.Context, id int64) error {
	return s.group(ctx, "Servers.CancelOperation", "server.opercancel", id, httpx.IdempotentWrite, nil)
}

// IPMIRedirect returns the URL of the IPMI web console of server id, as the
// panel's "IPMI" button opens it (the text of the "ok" element).
//
// Calls func=ipmiredirect.
func (s *ServersService) IPMIRedirect(ctx context.Context, id int64) (string, error) {
	if err := checkID("Servers.IPMIRedirect", "id", id); err != nil {
		return "", err
	}
	v := url.Values{"newwindow": {"yes"}, "value": {fmt.Sprintf("IPMI S%d", id)}}
	d, err := s.c.exec(ctx, mgr5.Request{Func: "ipmiredirect", Elid: []string{idStr(id)}, Params: v, Class: httpx.IdempotentWrite})
	if err != nil {
		return "", err
	}
	target := d.Text("ok")
	if target == "" {
		return "", &ProtocolError{Panel: "dcimanager5", Func: "ipmiredirect", Reason: "no redirect target in ok"}
	}
	return target, nil
}

// InstallRequest starts an OS installation.
type InstallRequest struct {
	// Template is the OS template id "<repository>__<template>", e.g.
	// "ISPsystem__CentOS-7-amd64". Required.
	Template string
	// Password is the new root password. Required; it is redacted in logs
	// and errors.
	Password string
	// Recipe is run after the install: "" or "null" for none,
	// "#local__<name>" for a local recipe, "<repo>__<name>" for a
	// repository recipe.
	Recipe string
	// Hostname is the OS hostname; optional.
	Hostname string
}

// Validate checks the request without sending it; errors are
// *ArgumentError.
func (r InstallRequest) Validate() error {
	if !validTemplateID(r.Template) {
		return argErr("Servers.Install", "Template", fmt.Sprintf("%q is not <repository>__<template>", r.Template))
	}
	if why := validate.Password(r.Password); why != "" {
		return argErr("Servers.Install", "Password", why)
	}
	if !validRecipe(r.Recipe) {
		return argErr("Servers.Install", "Recipe", fmt.Sprintf("%q is not null, #local__<name> or <repo>__<name>", r.Recipe))
	}
	if r.Hostname != "" && !validHostname(r.Hostname) {
		return argErr("Servers.Install", "Hostname", fmt.Sprintf("%q is not a host name", r.Hostname))
	}
	return nil
}

func validName(s string) bool {
	return s != "" && strings.IndexFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == ',' || r == '/' || r == '\\'
	}) < 0
}

func validTemplateID(s string) bool {
	repo, name, ok := strings.Cut(s, "__")
	return ok && !strings.HasPrefix(repo, "#") && validName(repo) && validName(name)
}

func validRecipe(s string) bool {
	if s == "" || s == "null" {
		return true
	}
	if rest, ok := strings.CutPrefix(s, "#local__"); ok {
		return validName(rest)
	}
	return validTemplateID(s)
}

func validHostname(s string) bool {
	if len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

type installParams struct {
	Operation     string `url:"operation"`
	OSTemplate    string `url:"ostemplate"`
	Passwd        string `url:"passwd"`
	Confirm       string `url:"confirm"`
	CheckPasswd   string `url:"checkpasswd"`
	Recipe        string `url:"recipe"`
	Hostname      string `url:"hostname,omitempty"`
	ClickedButton string `url:"clicked_button"`
}

// Install starts an OS installation on server id. The request is validated
// first (*ArgumentError). It is sent once and never retried: on a
// transport error check MayHaveHappened and re-read the server before
// trying again. Use WaitInstalled to follow it.
//
// Calls func=server.operations (sok=ok, operation=ostemplate).
func (s *ServersService) Install(ctx context.Context, id int64, r InstallRequest) error {
	if err := checkID("Servers.Install", "id", id); err != nil {
		return err
	}
	if err := r.Validate(); err != nil {
		return err
	}
	recipe := r.Recipe
	if recipe == "" {
		recipe = "null"
	}
	p := installParams{
		Operation: "ostemplate", OSTemplate: r.Template, Passwd: r.Password, Confirm: r.Password,
		CheckPasswd: r.Password, Recipe: recipe, Hostname: r.Hostname, ClickedButton: "ok",
	}
	_, err := s.c.exec(ctx, mgr5.Request{Func: "server.operations", Elid: []string{idStr(id)}, Sok: true, Params: p, Class: httpx.NonIdempotent})
	return err
}

// Choice is one value of a form select list.
type Choice struct {
	// Key is the value to send.
	Key string
	// Label is the displayed text.
	Label string
}

// InstallForm is the operations form of a server.
type InstallForm struct {
	// Templates are the OS templates this server can install.
	Templates []Choice
	// Recipes are the recipes offered (including "null").
	Recipes []Choice
	// CurrentTemplate is the template the form preselects (the installed
	// one, when the panel knows it).
	CurrentTemplate string
}

// InstallForm reads the operations form of server id: the OS templates and
// recipes it offers.
//
// Calls func=server.operations (view).
func (s *ServersService) InstallForm(ctx context.Context, id int64) (*InstallForm, error) {
	if err := checkID("Servers.InstallForm", "id", id); err != nil {
		return nil, err
	}
	d, err := s.c.call(ctx, mgr5.Request{Func: "server.operations", Elid: []string{idStr(id)}, Class: httpx.SafeRead})
	if err != nil {
		return nil, err
	}
	f := &InstallForm{CurrentTemplate: d.Text("ostemplate")}
	for _, v := range d.SelectList("ostemplate") {
		f.Templates = append(f.Templates, Choice{Key: v.Key, Label: v.Text})
	}
	for _, v := range d.SelectList("recipe") {
		f.Recipes = append(f.Recipes, Choice{Key: v.Key, Label: v.Text})
	}
	return f, nil
}

func checkID(op, arg string, id int64) error {
	if id <= 0 {
		return argErr(op, arg, "must be a positive id")
	}
	return nil
}

package dcimanager6

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"strings"

	"github.com/ispkit/ispkit/internal/httpx"
	"github.com/ispkit/ispkit/internal/validate"
)

// ServersService manages dedicated servers (/dci/v3/server).
type ServersService service

// List returns one page of servers and the total number matching opts.
//
// endpoint: GET /dci/v3/server
func (s *ServersService) List(ctx context.Context, opts *ListOptions) ([]Server, int, error) {
	return list[Server](ctx, s.c, "Servers.List", pathServers, opts, Where{})
}

// All iterates over every server matching opts, page by page.
func (s *ServersService) All(ctx context.Context, opts *ListOptions) iter.Seq2[Server, error] {
	return all[Server](ctx, s.c, "Servers.All", pathServers, opts, Where{})
}

// ListFree returns one page of servers available for sale in a location
// (0 = any) with a configuration ("" = any); see [FreeServers]. opts may
// add filters, sorting and a window.
func (s *ServersService) ListFree(ctx context.Context, locationID int64, configuration string, opts *ListOptions) ([]Server, int, error) {
	return list[Server](ctx, s.c, "Servers.ListFree", pathServers, opts, FreeServers(locationID, configuration))
}

// Get returns one server.
//
// endpoint: GET /dci/v3/server/{id}
func (s *ServersService) Get(ctx context.Context, id int64) (*Server, error) {
	if err := checkID("Servers.Get", "id", id); err != nil {
		return nil, err
	}
	return get[Server](ctx, s.c, "Servers.Get", pathf(pathServer, id))
}

// FreeCounts returns the number of free servers per configuration string.
// opts may filter the servers counted (e.g. EQ("location_id", 3)); the
// fake honours that, a real panel may ignore it.
//
// endpoint: GET /dci/v3/server/configuration
func (s *ServersService) FreeCounts(ctx context.Context, opts *ListOptions) ([]ConfigurationCount, error) {
	items, _, err := list[ConfigurationCount](ctx, s.c, "Servers.FreeCounts", pathServerConfigurations, opts, Where{})
	return items, err
}

// Operation returns the server's current (or last) operation, nil when
// it never had one.
func (s *ServersService) Operation(ctx context.Context, id int64) (*Operation, error) {
	srv, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return srv.Operation, nil
}

// SetOwner makes user userID the owner of the server. (assumed) endpoint and body.
//
// endpoint: POST /dci/v3/server/{id} {"owner": userID}
func (s *ServersService) SetOwner(ctx context.Context, id, userID int64) error {
	const op = "Servers.SetOwner"
	if err := checkID(op, "id", id); err != nil {
		return err
	}
	if err := checkID(op, "userID", userID); err != nil {
		return err
	}
	return s.c.do(ctx, call{op: op, method: http.MethodPost, path: pathf(pathServerEdit, id),
		body: map[string]any{fieldOwner: userID}, class: httpx.IdempotentWrite}, nil)
}

// ClearOwner removes the server's owner (releases it). What else a real
// panel does on release (wipe, diagnostics) is unknown (assumed).
//
// endpoint: POST /dci/v3/server/{id} {"owner": null}
func (s *ServersService) ClearOwner(ctx context.Context, id int64) error {
	const op = "Servers.ClearOwner"
	if err := checkID(op, "id", id); err != nil {
		return err
	}
	return s.c.do(ctx, call{op: op, method: http.MethodPost, path: pathf(pathServerEdit, id),
		body: map[string]any{fieldOwner: jsonNull}, class: httpx.IdempotentWrite}, nil)
}

// SetDomain sets the server's domain (host name), e.g. FreeDomain on release.
//
// endpoint: POST /dci/v3/server/{id} {"domain": domain}
func (s *ServersService) SetDomain(ctx context.Context, id int64, domain string) error {
	const op = "Servers.SetDomain"
	if err := checkID(op, "id", id); err != nil {
		return err
	}
	if err := checkHostname(op, domain); err != nil {
		return err
	}
	return s.c.do(ctx, call{op: op, method: http.MethodPost, path: pathf(pathServerEdit, id),
		body: map[string]any{fieldDomain: domain}, class: httpx.IdempotentWrite}, nil)
}

// ActionResult is the answer to an action that starts an operation.
type ActionResult struct {
	// ServerID is the server acted upon.
	ServerID int64 `json:"id"`
	// OperationID is the operation started, 0 if the panel named none.
	OperationID int64 `json:"task"`
}

func (s *ServersService) action(ctx context.Context, op, path string, id int64, body any) (*ActionResult, error) {
	if err := checkID(op, "id", id); err != nil {
		return nil, err
	}
	if body == nil {
		body = struct{}{}
	}
	var raw map[string]json.RawMessage
	if err := s.c.do(ctx, call{op: op, method: http.MethodPost, path: pathf(path, id), body: body,
		class: httpx.NonIdempotent}, &raw); err != nil {
		return nil, err
	}
	res := &ActionResult{ServerID: id}
	if v, ok := raw[fieldTask]; ok {
		_ = json.Unmarshal(v, &res.OperationID)
	}
	if v, ok := raw["id"]; ok {
		_ = json.Unmarshal(v, &res.ServerID)
	}
	return res, nil
}

// PowerOn powers the server on. Documented precondition: the power status
// is off or unknown; the panel refuses otherwise (the fake with 409, see
// IsConflict). Sent once (not retried after a transport error).
//
// endpoint: POST /dci/v3/server/{id}/power_on
func (s *ServersService) PowerOn(ctx context.Context, id int64) (*ActionResult, error) {
	return s.action(ctx, "Servers.PowerOn", pathPowerOn, id, nil)
}

// PowerOff powers the server off. Documented precondition: it is on.
//
// endpoint: POST /dci/v3/server/{id}/power_off
func (s *ServersService) PowerOff(ctx context.Context, id int64) (*ActionResult, error) {
	return s.action(ctx, "Servers.PowerOff", pathPowerOff, id, nil)
}

// PowerReset reboots a running server or powers on a stopped one; it is
// allowed in any power state.
//
// endpoint: POST /dci/v3/server/{id}/power_reset
func (s *ServersService) PowerReset(ctx context.Context, id int64) (*ActionResult, error) {
	return s.action(ctx, "Servers.PowerReset", pathPowerReset, id, nil)
}

// InstallRequest describes an OS installation [G body].
type InstallRequest struct {
	// TemplateID is an OS template of the server's location (required).
	TemplateID int64
	// Password is the root/administrator password (required). It is sent
	// only in the request body.
	Password string
	// Hostname becomes the server's domain (optional).
	Hostname string
	// ScriptID is a post-install script ("recipe") to run (optional).
	ScriptID int64
	// ScriptParams are the script's parameters (optional).
	ScriptParams map[string]string
}

// String never shows the password.
func (r InstallRequest) String() string {
	return "InstallRequest{TemplateID:" + itoa(r.TemplateID) + " Hostname:" + r.Hostname + " ScriptID:" + itoa(r.ScriptID) + " Password:REDACTED}"
}

// GoString never shows the password.
func (r InstallRequest) GoString() string { return "dcimanager6." + r.String() }

// Validate checks the request before it is sent.
func (r *InstallRequest) Validate() error {
	const op = "Servers.Install"
	if err := checkID(op, "TemplateID", r.TemplateID); err != nil {
		return err
	}
	if why := validate.Password(r.Password); why != "" {
		return argErr(op, "Password", why)
	}
	if r.Hostname != "" {
		if err := checkHostname(op, r.Hostname); err != nil {
			return err
		}
	}
	if r.ScriptID < 0 {
		return argErr(op, "ScriptID", "negative")
	}
	if r.ScriptID == 0 && len(r.ScriptParams) > 0 {
		return argErr(op, "ScriptParams", "given without ScriptID")
	}
	return nil
}

type recipeParam struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Install starts an OS installation and returns the operation started.
// Wait for it with Operations.Wait or WaitInstalled. Sent once.
//
// endpoint: POST /dci/v3/server/{id}/reinstall (assumed)
func (s *ServersService) Install(ctx context.Context, id int64, req InstallRequest) (*ActionResult, error) {
	if err := checkID("Servers.Install", "id", id); err != nil {
		return nil, err
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	body := map[string]any{fieldInstallTemplate: req.TemplateID, fieldInstallPassword: req.Password}
	if req.Hostname != "" {
		body[fieldInstallHostname] = req.Hostname
	}
	if req.ScriptID > 0 {
		params := make([]recipeParam, 0, len(req.ScriptParams))
		for k, v := range req.ScriptParams {
			params = append(params, recipeParam{Name: k, Value: v})
		}
		body[fieldInstallRecipes] = []map[string]any{{fieldInstallRecipe: req.ScriptID, fieldInstallRecipeArgs: params}}
	}
	return s.action(ctx, "Servers.Install", pathReinstall, id, body)
}

// EnablePorts sets every non-IPMI switch port of the server up. This is
// what BILLmanager does on resume.
func (s *ServersService) EnablePorts(ctx context.Context, id int64) error {
	return s.setPorts(ctx, id, true)
}

// DisablePorts sets every non-IPMI switch port of the server down. This
// is what BILLmanager does on suspend: the server keeps running.
func (s *ServersService) DisablePorts(ctx context.Context, id int64) error {
	return s.setPorts(ctx, id, false)
}

func (s *ServersService) setPorts(ctx context.Context, id int64, up bool) error {
	srv, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	for _, sc := range srv.SwitchConnection {
		if sc.IsIPMIConnection {
			continue
		}
		if up {
			err = s.c.Switches.EnablePort(ctx, sc.Switch, sc.ConnectionID)
		} else {
			err = s.c.Switches.DisablePort(ctx, sc.Switch, sc.ConnectionID)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func checkHostname(op, h string) error {
	if h == "" || len(h) > 253 {
		return argErr(op, "hostname", "empty or longer than 253 characters")
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return argErr(op, "hostname", "has an empty or too long label")
		}
		for i, r := range label {
			ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' && i > 0 && i < len(label)-1
			if !ok {
				return argErr(op, "hostname", "only letters, digits and inner hyphens are allowed")
			}
		}
	}
	return nil
}

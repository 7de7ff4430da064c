package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/billing/billmgr"
)

// ModuleParams are the processing module's connection parameters (the
// params of the features document).
type ModuleParams struct {
	// URL is the DCImanager 5 entry point, e.g. https://dci.example.com/dcimgr.
	URL, Username, Password string
	// PollInterval is how often the engine polls the panel while it waits
	// (module parameter poll_interval, a Go duration such as "5s"; zero
	// means the engine's default of 5 s).
	PollInterval time.Duration
}

// Item is what BILLmanager knows about one service (item) and its tariff.
type Item struct {
	// ID is item.id (--item), the engine's service id.
	ID int64
	// Module is the item's processing module id.
	Module int64
	// Pricelist is the tariff id.
	Pricelist int64
	// Account is the billing account id (0 when not numeric).
	Account int64
	// Owner is the account's user name; the panel user is derived from it.
	Owner string
	// Password is the panel user's password.
	Password string
	// Domain is the server's domain (may be empty).
	Domain string
	// Options are the order options keyed as in the billing package
	// (ostemplate, recipe).
	Options map[string]string
	// ServerConfig is the DCImanager configuration the tariff sells.
	ServerConfig string
	// OSTemplate is the tariff's default OS template; OSTemplates the
	// templates it sells (empty: any).
	OSTemplate  string
	OSTemplates []string
	// Recipe is the tariff's default recipe.
	Recipe string
	// DontWaitInstall activates the service when the install has started.
	DontWaitInstall bool
}

// Params reads the inputs BILLmanager keeps for the module.
type Params interface {
	// Module returns the connection parameters of the processing module
	// serving the invocation (--module, else the item's module).
	Module(ctx context.Context, a billmgr.Args) (ModuleParams, error)
	// Item returns the item --item with its tariff's parameters.
	Item(ctx context.Context, a billmgr.Args) (*Item, error)
}

// Parameter names of the module's forms (billmgr_mod_pmispkit.xml) and
// what the module reads from BILLmanager's forms. The sources:
// processing.edit returning the connection fields is how ISPsystem's own
// registrar example reads them [C]; the dedic list has the columns
// processingmodule, pricelist, account, domain and ostempl [C, BILLmanager 6
// API "Dedicated servers (dedic)"], and dedic.edit is assumed to show them
// too [I]; the item's owner login and password fields and the tariff form
// pricelist.edit with the intname and the module's tariff fields are
// assumptions [G]. Correct them here.
const (
	fnModuleForm = "processing.edit" // [C]
	fnItemForm   = "dedic.edit"      // [I]
	fnTariffForm = "pricelist.edit"  // [G]

	paramURL          = "url"           // [C]
	paramUsername     = "username"      // [C]
	paramPassword     = "password"      // [C]
	paramPollInterval = "poll_interval" // this module's own connection field

	fieldModule    = "processingmodule" // [C] column, [I] form field
	fieldPricelist = "pricelist"        // [C] column, [I] form field
	fieldAccount   = "account"          // [C] column, [I] numeric id
	fieldDomain    = "domain"           // [C] column, [I] form field
	fieldOSTempl   = "ostempl"          // [C] column, [I] form field
	fieldOwner     = "username"         // [G] the account's login
	fieldPassword  = "password"         // [G] the panel user's password
	fieldRecipe    = "recipe"           // [G]

	tariffIntName     = "intname"           // [I] "internal name … of the server configuration" (seed 002)
	tariffServer      = "server_config"     // this module's tariff field (overrides intname)
	tariffOSDefault   = "os_default"        // this module's tariff field
	tariffOSTemplates = "os_templates"      // this module's tariff field, comma-separated
	tariffRecipe      = "recipe"            // this module's tariff field
	tariffDontWait    = "dont_wait_install" // this module's tariff field, on/off
)

// Forms is the way to read BILLmanager's forms; *billmgr.Mgrctl implements
// it.
type Forms interface {
	Form(ctx context.Context, fn string, id int64) (map[string]string, error)
}

// MgrctlParams is the production [Params]: it reads BILLmanager's forms
// through mgrctl. One invocation reads each form once.
type MgrctlParams struct {
	Forms Forms

	mu    sync.Mutex
	cache map[string]map[string]string
}

func (p *MgrctlParams) form(ctx context.Context, fn string, id int64) (map[string]string, error) {
	key := fn + "/" + strconv.FormatInt(id, 10)
	p.mu.Lock()
	defer p.mu.Unlock()
	if f, ok := p.cache[key]; ok {
		return f, nil
	}
	f, err := p.Forms.Form(ctx, fn, id)
	if err != nil {
		return nil, err
	}
	if p.cache == nil {
		p.cache = map[string]map[string]string{}
	}
	p.cache[key] = f
	return f, nil
}

func positive(object, s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return 0, &billmgr.Error{Type: "value", Object: object, Value: s, Desc: "not a positive id"}
	}
	return n, nil
}

// Module implements Params.
func (p *MgrctlParams) Module(ctx context.Context, a billmgr.Args) (ModuleParams, error) {
	id := a.Module
	if id == 0 {
		f, err := p.form(ctx, fnItemForm, a.Item)
		if err != nil {
			return ModuleParams{}, err
		}
		if id, err = positive(fieldModule, f[fieldModule]); err != nil {
			return ModuleParams{}, err
		}
	}
	f, err := p.form(ctx, fnModuleForm, id)
	if err != nil {
		return ModuleParams{}, err
	}
	return moduleParams(f[paramURL], f[paramUsername], f[paramPassword], f[paramPollInterval])
}

func moduleParams(url, user, password, poll string) (ModuleParams, error) {
	mp := ModuleParams{URL: url, Username: user, Password: password}
	if mp.URL == "" || mp.Username == "" || mp.Password == "" {
		return mp, &billmgr.Error{Type: "ispkit_config", Object: paramURL, Desc: "the module's url, username and password are required"}
	}
	if poll != "" {
		d, err := time.ParseDuration(poll)
		if err != nil || d <= 0 {
			return mp, &billmgr.Error{Type: "ispkit_config", Object: paramPollInterval, Value: poll, Desc: "not a positive duration such as 5s"}
		}
		mp.PollInterval = d
	}
	return mp, nil
}

// Item implements Params.
func (p *MgrctlParams) Item(ctx context.Context, a billmgr.Args) (*Item, error) {
	f, err := p.form(ctx, fnItemForm, a.Item)
	if err != nil {
		return nil, err
	}
	it := &Item{ID: a.Item, Owner: f[fieldOwner], Password: f[fieldPassword], Domain: f[fieldDomain], Options: map[string]string{}}
	if it.Module, err = positive(fieldModule, f[fieldModule]); err != nil {
		return nil, err
	}
	if it.Pricelist, err = positive(fieldPricelist, f[fieldPricelist]); err != nil {
		return nil, err
	}
	it.Account, _ = strconv.ParseInt(strings.TrimSpace(f[fieldAccount]), 10, 64)
	if v := f[fieldOSTempl]; v != "" {
		it.Options[billing.OptionOSTemplate] = v
	}
	if v := f[fieldRecipe]; v != "" {
		it.Options[billing.OptionRecipe] = v
	}
	t, err := p.form(ctx, fnTariffForm, it.Pricelist)
	if err != nil {
		return nil, err
	}
	it.ServerConfig = t[tariffServer]
	if it.ServerConfig == "" {
		it.ServerConfig = t[tariffIntName]
	}
	it.OSTemplate, it.Recipe = t[tariffOSDefault], t[tariffRecipe]
	it.OSTemplates = splitList(t[tariffOSTemplates])
	it.DontWaitInstall = t[tariffDontWait] == "on"
	if it.Owner == "" {
		return nil, &billmgr.Error{Type: "value", Object: fieldOwner, Desc: "the item has no owner login"}
	}
	return it, nil
}

func splitList(s string) []string {
	var out []string
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// EnvParams is the demo's [Params]: each value comes from an extra
// command-line option (--owner john), else from an environment variable
// (ISPKIT_ITEM_OWNER=john). An item-specific variable wins over the general
// one (ISPKIT_ITEM_101_OWNER before ISPKIT_ITEM_OWNER).
//
//	connection   ISPKIT_DCI_URL, ISPKIT_DCI_USER, ISPKIT_DCI_PASSWORD, ISPKIT_POLL_INTERVAL
//	item         --pricelist / ISPKIT_ITEM_PRICELIST   (required for open)
//	             --owner     / ISPKIT_ITEM_OWNER       (required for open)
//	             --password  / ISPKIT_ITEM_PASSWORD    (required for open)
//	             --account   / ISPKIT_ITEM_ACCOUNT
//	             --domain    / ISPKIT_ITEM_DOMAIN
//	             --options   / ISPKIT_ITEM_OPTIONS     ("ostemplate=…,IP=1")
//	tariff       --server_config / ISPKIT_ITEM_SERVER_CONFIG
//	             --ostemplate    / ISPKIT_ITEM_OSTEMPLATE
type EnvParams struct {
	// Lookup reads a variable (os.LookupEnv, or a map in the demo).
	Lookup func(string) (string, bool)
}

func (p EnvParams) get(key string) string {
	if p.Lookup == nil {
		return ""
	}
	v, _ := p.Lookup(key)
	return v
}

// Module implements Params.
func (p EnvParams) Module(_ context.Context, _ billmgr.Args) (ModuleParams, error) {
	return moduleParams(p.get("ISPKIT_DCI_URL"), p.get("ISPKIT_DCI_USER"), p.get("ISPKIT_DCI_PASSWORD"), p.get("ISPKIT_POLL_INTERVAL"))
}

// Item implements Params.
func (p EnvParams) Item(_ context.Context, a billmgr.Args) (*Item, error) {
	val := func(name string) string {
		if v, ok := a.Extra[name]; ok {
			return v
		}
		key := strings.ToUpper(name)
		if v := p.get(fmt.Sprintf("ISPKIT_ITEM_%d_%s", a.Item, key)); v != "" {
			return v
		}
		return p.get("ISPKIT_ITEM_" + key)
	}
	it := &Item{ID: a.Item, Owner: val("owner"), Password: val("password"), Domain: val("domain"),
		ServerConfig: val("server_config"), OSTemplate: val("ostemplate"), Options: map[string]string{}}
	var err error
	num := func(name string) int64 {
		s := val(name)
		if s == "" || err != nil {
			return 0
		}
		n, perr := strconv.ParseInt(s, 10, 64)
		if perr != nil {
			err = &billmgr.Error{Type: "value", Object: name, Value: s, Desc: "not a number"}
		}
		return n
	}
	it.Pricelist, it.Account = num("pricelist"), num("account")
	if err != nil {
		return nil, err
	}
	for kv := range strings.SplitSeq(val("options"), ",") {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.TrimSpace(k) != "" {
			it.Options[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return it, nil
}

// PrintBilling is the demo's [Billing]: it prints the mgrctl command line
// of every callback to W and records it in Calls.
type PrintBilling struct {
	W io.Writer

	mu    sync.Mutex
	calls []string
}

func (b *PrintBilling) call(fn string, params map[string]string) error {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sb strings.Builder
	sb.WriteString("mgrctl -m billmgr " + fn)
	for _, k := range keys {
		fmt.Fprintf(&sb, " %s=%s", k, strconv.Quote(params[k]))
	}
	sb.WriteString(" sok=ok")
	line := sb.String()
	b.mu.Lock()
	b.calls = append(b.calls, line)
	b.mu.Unlock()
	if b.W != nil {
		_, err := fmt.Fprintln(b.W, "  callback:", line)
		return err
	}
	return nil
}

// Calls returns the command lines printed so far.
func (b *PrintBilling) Calls() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.calls...)
}

// SaveParam implements Billing.
func (b *PrintBilling) SaveParam(_ context.Context, item int64, name, value string) error {
	return b.call("service.saveparam", map[string]string{"elid": strconv.FormatInt(item, 10), "name": name, "value": value})
}

// SetStatus implements Billing.
func (b *PrintBilling) SetStatus(_ context.Context, item int64, code int) error {
	return b.call("service.setstatus", map[string]string{"elid": strconv.FormatInt(item, 10), "service_status": strconv.Itoa(code)})
}

// Post implements Billing.
func (b *PrintBilling) Post(_ context.Context, cb billmgr.Callback, item int64) error {
	return b.call(string(cb), map[string]string{"elid": strconv.FormatInt(item, 10)})
}

// OperationError implements Billing.
func (b *PrintBilling) OperationError(_ context.Context, op int64, err error) error {
	doc, merr := billmgr.MarshalOperationErrorXML(err)
	if merr != nil {
		return merr
	}
	return b.call("runningoperation.edit", map[string]string{"elid": strconv.FormatInt(op, 10), "errorxml": string(doc)})
}

package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/ispkit/ispkit/billing/billmgr"
)

// ModuleParams are the processing module's connection parameters (the
// params of the features document: url, username, password).
type ModuleParams struct {
	// URL is the DCImanager 5 entry point, e.g. https://dci.example.com/dcimgr.
	URL, Username, Password string
	// DB is the SQLite file of the engine's store.
	DB string
}

// Item is what BILLmanager knows about one service (item).
type Item struct {
	// ID is item.id (--item), the engine's service id.
	ID int64
	// Pricelist is item.pricelist, the engine's tariff id.
	Pricelist int64
	// Account is item.account.
	Account int64
	// Owner is the account's name; the panel user name is derived from it.
	Owner string
	// Password is the panel user's password (itemcryptedparam password).
	Password string
	// Domain is the itemparam domain (may be empty).
	Domain string
	// Options are the order options keyed as in the billing package
	// (ostemplate, recipe, IP, IPv6): itemparam values and addon counts.
	Options map[string]string
	// ServerConfig and OSTemplate are the tariff's pricelistparam values:
	// the DCImanager chassis template to sell and the default OS.
	ServerConfig, OSTemplate string
}

// Params reads the inputs BILLmanager keeps for the module: the connection
// parameters (processingparam / processingcryptedparam, or mgrctl
// processing.edit) and an item's parameters (item, itemparam,
// itemcryptedparam, pricelistparam and the addon items). A real module
// implements it over BILLmanager's database (credentials from mgrctl
// paramlist, crypted values decrypted with etc/billmgr.pem) or mgrctl.
type Params interface {
	Module(ctx context.Context, a billmgr.Args) (ModuleParams, error)
	Item(ctx context.Context, a billmgr.Args) (*Item, error)
}

// EnvParams is the demo's [Params]: each value comes from an extra
// command-line option (--owner john), else from an environment variable
// (ISPKIT_ITEM_OWNER=john). An item-specific variable wins over the general
// one (ISPKIT_ITEM_101_OWNER before ISPKIT_ITEM_OWNER).
//
//	connection   ISPKIT_DCI_URL, ISPKIT_DCI_USER, ISPKIT_DCI_PASSWORD, ISPKIT_DB
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
	m := ModuleParams{URL: p.get("ISPKIT_DCI_URL"), Username: p.get("ISPKIT_DCI_USER"),
		Password: p.get("ISPKIT_DCI_PASSWORD"), DB: p.get("ISPKIT_DB")}
	if m.DB == "" {
		m.DB = "var/" + moduleName + ".db" // relative to /usr/local/mgr5
	}
	if m.URL == "" || m.Username == "" {
		return m, &billmgr.Error{Type: "ispkit_config", Object: "url", Desc: "ISPKIT_DCI_URL and ISPKIT_DCI_USER are not set"}
	}
	return m, nil
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

// Billing is the way back to BILLmanager: the mgrctl callbacks of the
// reference (B6). Every call is "mgrctl -m billmgr <func> … sok=ok"; a real
// module runs /usr/local/mgr5/sbin/mgrctl (with SSH_CONNECTION=pmispkit so
// BILLmanager's log names the module) or calls the BILLmanager API
// (https://<host>:1500/billmgr?func=…&authinfo=…).
type Billing interface {
	// SaveParam saves an item parameter:
	// service.saveparam elid=<item> name=<name> value=<value>.
	SaveParam(ctx context.Context, item int64, name, value string) error
	// SetStatus sets the item status:
	// service.setstatus elid=<item> service_status=<code>.
	SetStatus(ctx context.Context, item int64, code int) error
	// Post reports a finished command and closes its running operation:
	// service.<fn> elid=<item> with fn postopen, postsuspend, postresume,
	// postclose or postchangepassword.
	Post(ctx context.Context, fn string, item int64) error
	// OperationError stores a detailed error on a running operation:
	// runningoperation.edit elid=<op> errorxml=<xml>.
	OperationError(ctx context.Context, runningOp int64, errorXML []byte) error
}

// PrintBilling is the default [Billing]: it prints the mgrctl command line
// of every callback to W (stderr when installed: BILLmanager reads stdout)
// and records it in Calls. Replace it with an mgrctl runner to go live.
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
func (b *PrintBilling) Post(_ context.Context, fn string, item int64) error {
	return b.call("service."+fn, map[string]string{"elid": strconv.FormatInt(item, 10)})
}

// OperationError implements Billing.
func (b *PrintBilling) OperationError(_ context.Context, runningOp int64, errorXML []byte) error {
	return b.call("runningoperation.edit", map[string]string{"elid": strconv.FormatInt(runningOp, 10), "errorxml": string(errorXML)})
}

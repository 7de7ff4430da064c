package dcimanager6test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

type reqCtx struct {
	s    *Server
	r    *http.Request
	path string
	body []byte
	rep  *reply
	now  time.Time
	user int64
	args []int64
}

type route struct {
	method string
	re     *regexp.Regexp
	h      func(*reqCtx)
}

func r(method, pattern string, h func(*reqCtx)) route {
	p := strings.ReplaceAll(pattern, "{id}", `([0-9]+)`)
	return route{method, regexp.MustCompile("^" + p + "$"), h}
}

// routes lists every endpoint of the fake (paths below the /api prefix).
var routes = []route{
	r("POST", "/auth/v4/public/token", (*reqCtx).login),
	r("POST", "/auth/v4/public/key", (*reqCtx).keyLogin),
	r("GET", "/auth/v4/whoami", (*reqCtx).whoami),
	r("POST", `/auth/v4/user/([^/]+)/key`, (*reqCtx).userKey),
	r("GET", "/dci/v3/location", func(c *reqCtx) { c.list(c.locations()) }),
	r("GET", "/dci/v3/location/{id}", (*reqCtx).location),
	r("GET", "/dci/v3/server", func(c *reqCtx) { c.list(c.servers()) }),
	r("GET", "/dci/v3/server/configuration", (*reqCtx).configurations),
	r("GET", "/dci/v3/server/{id}", (*reqCtx).server),
	r("POST", "/dci/v3/server/{id}", (*reqCtx).editServer),
	r("POST", "/dci/v3/server/{id}/power_on", func(c *reqCtx) { c.power("power_on") }),
	r("POST", "/dci/v3/server/{id}/power_off", func(c *reqCtx) { c.power("power_off") }),
	r("POST", "/dci/v3/server/{id}/power_reset", func(c *reqCtx) { c.power("power_reset") }),
	r("POST", "/dci/v3/server/{id}/reinstall", (*reqCtx).reinstall),
	r("GET", "/dci/v3/user", func(c *reqCtx) { c.list(c.users()) }),
	r("POST", "/dci/v3/user", (*reqCtx).createUser),
	r("GET", "/dci/v3/user/{id}", (*reqCtx).user1),
	r("DELETE", "/dci/v3/user/{id}", (*reqCtx).deleteUser),
	r("GET", "/dci/v3/os_template", func(c *reqCtx) { c.list(c.templates()) }),
	r("GET", "/dci/v3/operation", func(c *reqCtx) { c.list(c.operations()) }),
	r("GET", "/dci/v3/operation/{id}", (*reqCtx).operation),
	r("GET", "/dci/v3/switch/{id}/port", (*reqCtx).ports),
	r("POST", "/dci/v3/switch/{id}/port/{id}/enable", func(c *reqCtx) { c.setPort("up") }),
	r("POST", "/dci/v3/switch/{id}/port/{id}/disable", func(c *reqCtx) { c.setPort("down") }),
	r("GET", "/ip/v3/ip", func(c *reqCtx) { c.list(c.ipList()) }),
	r("GET", "/ip/v3/ip/{id}", (*reqCtx).ip),
	r("POST", "/ip/v3/ip", (*reqCtx).assignIP),
	r("DELETE", "/ip/v3/ip/{id}", (*reqCtx).unassignIP),
	r("POST", "/auth/v4/user/{id}/password", (*reqCtx).setPassword),
	r("GET", "/ip/v3/ippool", func(c *reqCtx) { c.list(c.poolList()) }),
	r("GET", "/ip/v3/ippool/{id}", (*reqCtx).pool),
}

func (s *Server) route(c *reqCtx) {
	pathMatched := false
	for _, rt := range routes {
		m := rt.re.FindStringSubmatch(c.path)
		if m == nil {
			continue
		}
		pathMatched = true
		if rt.method != c.r.Method {
			continue
		}
		c.args = nil
		for _, a := range m[1:] {
			n, _ := strconv.ParseInt(a, 10, 64)
			c.args = append(c.args, n)
		}
		rt.h(c)
		return
	}
	if pathMatched {
		c.rep.fail(http.StatusMethodNotAllowed, CodeInvalidInput, "method not allowed", nil)
		return
	}
	c.s.violate(Violation{Func: c.r.Method + " " + c.path})
	c.rep.fail(http.StatusNotFound, CodeNotFound, "no such endpoint", map[string]any{"path": c.path})
}

func (c *reqCtx) st() *state { return c.s.st }

// decode reads the JSON body into v. In strict mode a body field that v
// (a pointer to a struct) has no json name for is a violation; a map
// target reads every field, and its route lists what it models with
// allow.
func (c *reqCtx) decode(v any) bool {
	if len(c.body) == 0 {
		c.body = []byte("{}")
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		c.rep.fail(http.StatusBadRequest, CodeInvalidInput, "body is not valid JSON", nil)
		return false
	}
	if t := reflect.TypeOf(v); t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct {
		c.allow(jsonNames(t.Elem())...)
	}
	return true
}

// allow records, in strict mode, every body field not named in names.
func (c *reqCtx) allow(names ...string) {
	var m map[string]json.RawMessage
	if json.Unmarshal(c.body, &m) != nil {
		return
	}
	for k := range m {
		if !slices.Contains(names, k) {
			c.s.violate(Violation{Func: c.r.Method + " " + c.path, Param: k})
		}
	}
}

func jsonNames(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	return out
}

func (c *reqCtx) notFound(what string) {
	c.rep.fail(http.StatusNotFound, CodeNotFound, what+" not found", map[string]any{"id": c.args[0]})
}

func (c *reqCtx) invalid(field, msg string) {
	c.rep.fail(http.StatusBadRequest, CodeInvalidInput, msg, map[string]any{"field": field})
}

// ---- lists ----

type collection struct {
	items  []map[string]any
	fields map[string]bool
}

func newCollection(items []map[string]any, template map[string]any) collection {
	f := map[string]bool{}
	for k := range template {
		f[k] = true
	}
	return collection{items: items, fields: f}
}

// filtered applies where and orderby.
func (c *reqCtx) filtered(col collection) ([]map[string]any, bool) {
	q := c.r.URL.Query()
	items := col.items
	if w := q.Get("where"); strings.TrimSpace(w) != "" {
		n, err := parseWhere(w, col.fields)
		if err != nil {
			c.rep.fail(http.StatusBadRequest, CodeInvalidInput, "invalid where: "+err.Error(), map[string]any{"param": "where"})
			return nil, false
		}
		var out []map[string]any
		for _, it := range items {
			if n.eval(it) {
				out = append(out, it)
			}
		}
		items = out
	}
	if ob := q.Get("orderby"); ob != "" {
		if err := sortItems(items, ob, col.fields); err != nil {
			c.rep.fail(http.StatusBadRequest, CodeInvalidInput, "invalid orderby: "+err.Error(), map[string]any{"param": "orderby"})
			return nil, false
		}
	}
	return items, true
}

// list answers {"list": [...], "size": N}; size counts every match,
// limit only cuts the page.
func (c *reqCtx) list(col collection) {
	items, ok := c.filtered(col)
	if !ok {
		return
	}
	total := len(items)
	if l := c.r.URL.Query().Get("limit"); l != "" {
		off, n, err := parseLimit(l)
		if err != nil {
			c.rep.fail(http.StatusBadRequest, CodeInvalidInput, "invalid limit: "+err.Error(), map[string]any{"param": "limit"})
			return
		}
		if off > len(items) {
			off = len(items)
		}
		end := min(off+n, len(items))
		items = items[off:end]
	}
	if items == nil {
		items = []map[string]any{}
	}
	c.rep.json(http.StatusOK, map[string]any{"list": items, "size": total})
}

func (c *reqCtx) locations() collection {
	var items []map[string]any
	for _, id := range sortedKeys(c.st().locations) {
		items = append(items, renderLocation(c.st().locations[id]))
	}
	return newCollection(items, renderLocation(&Location{}))
}

func (c *reqCtx) servers() collection {
	var items []map[string]any
	for _, id := range sortedKeys(c.st().servers) {
		items = append(items, c.st().renderServer(c.st().servers[id]))
	}
	return newCollection(items, c.st().renderServer(&Machine{}))
}

func (c *reqCtx) users() collection {
	var items []map[string]any
	for _, id := range sortedKeys(c.st().users) {
		items = append(items, c.st().renderUser(c.st().users[id]))
	}
	return newCollection(items, c.st().renderUser(&User{}))
}

func (c *reqCtx) templates() collection {
	var items []map[string]any
	for _, id := range sortedKeys(c.st().templates) {
		items = append(items, renderTemplate(c.st().templates[id]))
	}
	return newCollection(items, renderTemplate(&OSTemplate{}))
}

func (c *reqCtx) operations() collection {
	var items []map[string]any
	for _, id := range sortedKeys(c.st().ops) {
		items = append(items, c.st().renderOperation(c.st().ops[id]))
	}
	return newCollection(items, c.st().renderOperation(&Operation{}))
}

func (c *reqCtx) ipList() collection {
	var items []map[string]any
	for _, id := range sortedKeys(c.st().ips) {
		items = append(items, c.st().renderIP(c.st().ips[id]))
	}
	return newCollection(items, map[string]any{"id": 0, "name": 0, "ip_addr": 0, "domain": 0, "family": 0,
		"ipnet": 0, "ipnet_name": 0, "gateway": 0, "status": 0, "pool": 0, "server_id": 0, "note": 0})
}

func (c *reqCtx) poolList() collection {
	var items []map[string]any
	for _, id := range sortedKeys(c.st().pools) {
		items = append(items, renderPool(c.st().pools[id]))
	}
	return newCollection(items, renderPool(&Pool{}))
}

// ---- single objects ----

func (c *reqCtx) location() {
	l, ok := c.st().locations[c.args[0]]
	if !ok {
		c.notFound("location")
		return
	}
	c.rep.json(http.StatusOK, renderLocation(l))
}

func (c *reqCtx) server() {
	s, ok := c.st().servers[c.args[0]]
	if !ok {
		c.notFound("server")
		return
	}
	c.rep.json(http.StatusOK, c.st().renderServer(s))
}

func (c *reqCtx) user1() {
	u, ok := c.st().users[c.args[0]]
	if !ok {
		c.notFound("user")
		return
	}
	c.rep.json(http.StatusOK, c.st().renderUser(u))
}

func (c *reqCtx) operation() {
	op, ok := c.st().ops[c.args[0]]
	if !ok {
		c.notFound("operation")
		return
	}
	c.rep.json(http.StatusOK, c.st().renderOperation(op))
}

func (c *reqCtx) ip() {
	ip, ok := c.st().ips[c.args[0]]
	if !ok {
		c.notFound("ip")
		return
	}
	c.rep.json(http.StatusOK, c.st().renderIP(ip))
}

func (c *reqCtx) pool() {
	p, ok := c.st().pools[c.args[0]]
	if !ok {
		c.notFound("pool")
		return
	}
	c.rep.json(http.StatusOK, renderPool(p))
}

// configurations counts free servers per configuration; where filters
// the servers counted (e.g. by location_id).
func (c *reqCtx) configurations() {
	items, ok := c.filtered(c.servers())
	if !ok {
		return
	}
	list := c.st().configurations(items)
	c.rep.json(http.StatusOK, map[string]any{"list": list, "size": len(list)})
}

func (c *reqCtx) ports() {
	if _, ok := c.st().switches[c.args[0]]; !ok {
		c.notFound("switch")
		return
	}
	var items []map[string]any
	for _, id := range sortedKeys(c.st().ports) {
		if p := c.st().ports[id]; p.SwitchID == c.args[0] {
			items = append(items, c.st().renderPort(p))
		}
	}
	c.list(newCollection(items, c.st().renderPort(&Port{})))
}

// ---- auth ----

func (c *reqCtx) login() {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if !c.decode(&in) {
		return
	}
	for _, id := range sortedKeys(c.st().users) {
		u := c.st().users[id]
		if strings.EqualFold(u.Email, in.Email) && u.Password == in.Password && in.Password != "" {
			c.s.logins++
			c.rep.json(http.StatusCreated, map[string]any{"id": strconv.FormatInt(u.ID, 10), "token": c.s.newToken(u.ID, c.now)})
			return
		}
	}
	c.rep.fail(http.StatusUnauthorized, CodeBadCredentials, "invalid e-mail or password", nil)
}

func (c *reqCtx) userKey() {
	ref := strings.TrimSuffix(strings.TrimPrefix(c.path, "/auth/v4/user/"), "/key")
	var u *User
	for _, id := range sortedKeys(c.st().users) {
		x := c.st().users[id]
		if strconv.FormatInt(x.ID, 10) == ref || strings.EqualFold(x.Email, ref) {
			u = x
			break
		}
	}
	if u == nil {
		c.rep.fail(http.StatusNotFound, CodeNotFound, "user not found", nil)
		return
	}
	r := c.s.randHex(16)
	k := strconv.FormatInt(u.ID, 10) + "-" + r[:8] + "-" + r[8:12] + "-" + r[12:16] + "-" + r[16:20] + "-" + r[20:]
	c.s.keys()[k] = u.ID
	c.rep.json(http.StatusOK, map[string]any{"id": strconv.FormatInt(u.ID, 10), "key": k})
}

func (c *reqCtx) keyLogin() {
	var in struct {
		Key string `json:"key"`
	}
	if !c.decode(&in) {
		return
	}
	uid, ok := c.s.keys()[in.Key]
	if !ok {
		c.rep.fail(http.StatusUnauthorized, CodeBadCredentials, "invalid key", nil)
		return
	}
	delete(c.s.keys(), in.Key)
	c.rep.json(http.StatusCreated, map[string]any{"id": strconv.FormatInt(uid, 10), "token": c.s.newToken(uid, c.now)})
}

func (c *reqCtx) whoami() {
	u := c.st().users[c.user]
	if u == nil {
		c.rep.fail(http.StatusUnauthorized, CodeUnauthorized, "user is gone", nil)
		return
	}
	c.rep.json(http.StatusOK, map[string]any{"id": u.ID, "email": u.Email, "roles": []string{u.Role}})
}

// ---- users ----

func (c *reqCtx) createUser() {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
		FullName string `json:"full_name"`
		Phone    string `json:"phone_number"`
		Role     string `json:"role"`
	}
	if !c.decode(&in) {
		return
	}
	if at := strings.IndexByte(in.Email, '@'); at <= 0 || at == len(in.Email)-1 {
		c.invalid("email", "email is not an e-mail address")
		return
	}
	if in.Password == "" {
		c.invalid("password", "password is required")
		return
	}
	if in.Role == "" {
		in.Role = "@user"
	}
	if in.Role != "@user" && in.Role != "@admin" {
		c.invalid("role", "unknown role")
		return
	}
	for _, u := range c.st().users {
		if strings.EqualFold(u.Email, in.Email) {
			c.rep.fail(http.StatusConflict, CodeExists, "user with this e-mail already exists", map[string]any{"field": "email"})
			return
		}
	}
	id := c.st().id("user")
	c.st().users[id] = &User{ID: id, Email: in.Email, Password: in.Password, FullName: in.FullName, Phone: in.Phone, Role: in.Role}
	c.rep.json(http.StatusOK, map[string]any{"id": id})
}

func (c *reqCtx) deleteUser() {
	u, ok := c.st().users[c.args[0]]
	if !ok {
		c.notFound("user")
		return
	}
	if u.ID == c.user {
		c.rep.fail(http.StatusConflict, CodeStateConflict, "cannot delete yourself", nil)
		return
	}
	for _, s := range c.st().servers {
		if s.Owner == u.ID {
			c.rep.fail(http.StatusConflict, CodeStateConflict, "user owns servers; clear the owner first", map[string]any{"server": s.ID})
			return
		}
	}
	delete(c.st().users, u.ID)
	c.rep.json(http.StatusOK, map[string]any{})
}

// ---- servers ----

func (c *reqCtx) editServer() {
	s, ok := c.st().servers[c.args[0]]
	if !ok {
		c.notFound("server")
		return
	}
	var in map[string]json.RawMessage
	if !c.decode(&in) {
		return
	}
	c.allow("owner", "domain")
	if raw, ok := in["owner"]; ok {
		var owner *int64
		if err := json.Unmarshal(raw, &owner); err != nil {
			c.invalid("owner", "owner must be a user ID or null")
			return
		}
		if owner == nil {
			if s.Owner != 0 {
				c.st().releaseIPs(s.ID)
			}
			s.Owner = 0
		} else {
			if _, ok := c.st().users[*owner]; !ok {
				c.rep.fail(http.StatusNotFound, CodeNotFound, "user not found", map[string]any{"field": "owner"})
				return
			}
			// A server held by an administrator (a billing reservation) can
			// be handed to a customer directly; a customer's server cannot be
			// given to someone else without clearing it first.
			if cur, held := c.st().users[s.Owner]; s.Owner != 0 && s.Owner != *owner && (!held || cur.Role != "@admin") {
				c.rep.fail(http.StatusConflict, CodeStateConflict, "server already has another owner", nil)
				return
			}
			s.Owner = *owner
		}
	}
	if raw, ok := in["domain"]; ok {
		var d string
		if err := json.Unmarshal(raw, &d); err != nil || d == "" {
			c.invalid("domain", "domain must be a non-empty string")
			return
		}
		s.Domain = d
	}
	c.rep.json(http.StatusOK, map[string]any{"id": s.ID})
}

func (c *reqCtx) busy(s *Machine) bool {
	if op := c.st().ops[s.OperationID]; op != nil && !op.finished {
		c.rep.fail(http.StatusConflict, CodeStateConflict, "server has a running operation", map[string]any{"operation": op.ID})
		return true
	}
	return false
}

func (c *reqCtx) start(s *Machine, kind string, stages []string, d time.Duration, effect func(*state)) *Operation {
	op := &Operation{ID: c.st().id("operation"), ServerID: s.ID, Name: kind, Status: "running",
		Start: c.now, Duration: d, effect: effect}
	for _, n := range stages {
		op.Stages = append(op.Stages, Stage{Name: n, Status: "waiting"})
	}
	if msg, ok := c.s.failNext[kind]; ok {
		delete(c.s.failNext, kind)
		op.Fail, op.Message = true, msg
	}
	c.st().ops[op.ID] = op
	s.OperationID = op.ID
	c.st().advance(c.now)
	return op
}

// power applies the preconditions of the vendor's "Server power supply management logic" page: power_on needs off or
// unknown, power_off needs on, power_reset is always allowed; a server
// with a running operation is busy. Violations are 409 (code 4001).
func (c *reqCtx) power(kind string) {
	s, ok := c.st().servers[c.args[0]]
	if !ok {
		c.notFound("server")
		return
	}
	if c.busy(s) {
		return
	}
	switch {
	case kind == "power_on" && s.PowerStatus == "on":
		c.rep.fail(http.StatusConflict, CodeStateConflict, "server is already powered on", map[string]any{"power_status": s.PowerStatus})
		return
	case kind == "power_off" && s.PowerStatus != "on":
		c.rep.fail(http.StatusConflict, CodeStateConflict, "server is not powered on", map[string]any{"power_status": s.PowerStatus})
		return
	}
	target := "on"
	if kind == "power_off" {
		target = "off"
	}
	id := s.ID
	op := c.start(s, kind, []string{kind}, c.s.cfg.powerDuration, func(st *state) { st.servers[id].PowerStatus = target })
	c.rep.json(http.StatusOK, map[string]any{"id": s.ID, "task": op.ID})
}

func (c *reqCtx) reinstall() {
	s, ok := c.st().servers[c.args[0]]
	if !ok {
		c.notFound("server")
		return
	}
	var in struct {
		OS         int64  `json:"os"`
		Password   string `json:"password"`
		Domain     string `json:"domain"`
		RecipeList []struct {
			Recipe int64 `json:"recipe"`
			Params []struct {
				Name  string `json:"name"`
				Value string `json:"value"`
			} `json:"recipe_params"`
		} `json:"recipe_list"`
	}
	if !c.decode(&in) {
		return
	}
	t, ok := c.st().templates[in.OS]
	switch {
	case !ok:
		c.invalid("os", "no such OS template")
		return
	case t.LocationID != s.LocationID:
		c.invalid("os", "the OS template belongs to another location")
		return
	case t.Type != "os":
		c.invalid("os", "the template is not an OS template")
		return
	case in.Password == "":
		c.invalid("password", "password is required")
		return
	}
	if c.busy(s) {
		return
	}
	inst := &Install{TemplateID: in.OS, Password: in.Password, Hostname: in.Domain, Params: map[string]string{}}
	stages := []string{"prepare", "network boot", "partitioning", "installing OS"}
	for _, rc := range in.RecipeList {
		inst.Recipes = append(inst.Recipes, rc.Recipe)
		for _, p := range rc.Params {
			inst.Params[p.Name] = p.Value
		}
	}
	if len(inst.Recipes) > 0 {
		stages = append(stages, "running script")
	}
	stages = append(stages, "finishing")
	s.LastInstall = inst
	id, host := s.ID, in.Domain
	op := c.start(s, "os_install", stages, c.s.cfg.installDuration, func(st *state) {
		srv := st.servers[id]
		srv.OSTemplateID, srv.PowerStatus = in.OS, "on"
		if host != "" {
			srv.Domain = host
		}
		st.allocateIP(srv)
		for _, ip := range st.ips {
			if ip.ServerID == id {
				ip.Domain = srv.Domain
			}
		}
	})
	c.rep.json(http.StatusOK, map[string]any{"id": s.ID, "task": op.ID})
}

func (c *reqCtx) setPort(status string) {
	p, ok := c.st().ports[c.args[1]]
	if !ok || p.SwitchID != c.args[0] {
		c.rep.fail(http.StatusNotFound, CodeNotFound, "port not found", nil)
		return
	}
	p.AdminStatus = status
	c.rep.json(http.StatusOK, map[string]any{"id": p.ID})
}

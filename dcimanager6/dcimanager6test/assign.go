package dcimanager6test

import (
	"net/http"
	"net/netip"
	"strings"
)

// Handlers for the assumed write calls of the IP service and of auth v4
// (see assumptions.go of package dcimanager6). The whole request runs under
// the server's mutex, so two concurrent assignments never pick the same
// free address.

// assignIP serves POST /ip/v3/ip {"ippool","name","server_id","domain","note"}:
// it binds the named address, or the first free address (by ID) of the
// pool, to the server and answers the address object.
//
//   - server_id must name a server (404), ippool a pool (404) of the
//     server's location (400); one of ippool and name is required (400).
//   - name must be an address of the fake (404); with ippool it must be of
//     that pool and its pool of the server's location (400); it must be free (409/4001, also when it is already
//     on this very server: a repeat is not silently accepted).
//   - A pool without a free address is 409/4001.
func (c *reqCtx) assignIP() {
	var in struct {
		Pool     int64  `json:"ippool"`
		Name     string `json:"name"`
		ServerID int64  `json:"server_id"`
		Domain   string `json:"domain"`
		Note     string `json:"note"`
	}
	if !c.decode(&in) {
		return
	}
	st := c.st()
	s, ok := st.servers[in.ServerID]
	if !ok {
		c.rep.fail(http.StatusNotFound, CodeNotFound, "server not found", map[string]any{"field": "server_id"})
		return
	}
	if in.Pool == 0 && in.Name == "" {
		c.invalid("ippool", "ippool or name is required")
		return
	}
	var pool *Pool
	if in.Pool != 0 {
		if pool, ok = st.pools[in.Pool]; !ok {
			c.rep.fail(http.StatusNotFound, CodeNotFound, "pool not found", map[string]any{"field": "ippool"})
			return
		}
		if pool.LocationID != 0 && pool.LocationID != s.LocationID {
			c.invalid("ippool", "the pool belongs to another location")
			return
		}
	}
	var ip *IP
	if in.Name != "" {
		want, err := netip.ParseAddr(in.Name)
		if err != nil {
			c.invalid("name", "name is not an IP address")
			return
		}
		for _, id := range sortedKeys(st.ips) {
			if a, err := netip.ParseAddr(st.ips[id].Name); err == nil && a == want {
				ip = st.ips[id]
				break
			}
		}
		switch {
		case ip == nil:
			c.rep.fail(http.StatusNotFound, CodeNotFound, "address not found", map[string]any{"field": "name"})
			return
		case pool != nil && ip.PoolID != pool.ID:
			c.invalid("name", "the address is not in this pool")
			return
		case st.pools[ip.PoolID].LocationID != 0 && st.pools[ip.PoolID].LocationID != s.LocationID:
			c.invalid("name", "the address belongs to a pool of another location")
			return
		case ip.Status != "free":
			c.rep.fail(http.StatusConflict, CodeStateConflict, "the address is not free",
				map[string]any{"field": "name", "status": ip.Status})
			return
		}
	} else {
		for _, id := range sortedKeys(st.ips) {
			if x := st.ips[id]; x.PoolID == pool.ID && x.Status == "free" {
				ip = x
				break
			}
		}
		if ip == nil {
			c.rep.fail(http.StatusConflict, CodeStateConflict, "no free address in the pool", map[string]any{"ippool": pool.ID})
			return
		}
	}
	domain := in.Domain
	if domain == "" {
		domain = s.Domain
	}
	ip.Status, ip.ServerID, ip.Domain, ip.Note, ip.Seq = "allocated", s.ID, domain, strings.TrimSpace(in.Note), st.id("assignment")
	c.rep.json(http.StatusOK, st.renderIP(ip))
}

// unassignIP serves DELETE /ip/v3/ip/{id}: the address leaves its server
// and is free again. An unknown address, or one that is not assigned
// (a repeat), is 404.
func (c *reqCtx) unassignIP() {
	ip, ok := c.st().ips[c.args[0]]
	if !ok {
		c.notFound("ip")
		return
	}
	if ip.ServerID == 0 {
		c.rep.fail(http.StatusNotFound, CodeNotFound, "address is not assigned", map[string]any{"id": ip.ID})
		return
	}
	ip.free()
	c.rep.json(http.StatusOK, map[string]any{})
}

// setPassword serves POST /auth/v4/user/{id}/password {"password"}: the
// user logs in with the new password from then on (sessions already issued
// stay valid).
func (c *reqCtx) setPassword() {
	u, ok := c.st().users[c.args[0]]
	if !ok {
		c.notFound("user")
		return
	}
	var in struct {
		Password string `json:"password"`
	}
	if !c.decode(&in) {
		return
	}
	if in.Password == "" {
		c.invalid("password", "password is required")
		return
	}
	u.Password = in.Password
	c.rep.json(http.StatusOK, map[string]any{"id": u.ID})
}

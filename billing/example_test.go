package billing_test

import (
	"context"
	"fmt"

	"github.com/ispkit/ispkit/billing"
)

func ExampleExpandTemplate() {
	// BILLmanager's documented example: username template "user@ID@" for
	// the shared hosting service 117.
	name, err := billing.ExpandTemplate("user@ID@", billing.MacroVars{ID: 117})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(name)

	domain, _ := billing.ExpandTemplate("@USERNAME@.example.com", billing.MacroVars{Username: "john"})
	fmt.Println(domain)

	_, err = billing.ExpandTemplate("@HOSTNAME@", billing.MacroVars{})
	fmt.Println(err)
	// Output:
	// user117
	// john.example.com
	// billing: unknown macro: @HOSTNAME@ at offset 0
}

func ExampleMergeLimits() {
	// The account template "Site hosting" allows 25 databases and 25
	// domains; the tariff includes 10 databases and says nothing about
	// domains.
	template, _ := billing.LimitsFrom(map[string]string{"limit_db": "25", "limit_domains": "25"})
	var tariff billing.Limits
	_ = tariff.SetInt(billing.LimitDB, 10)

	account := billing.MergeLimits(template, tariff)
	db, _ := account.Databases()
	domains, _ := account.Domains()
	fmt.Println("databases:", db)
	fmt.Println("domains:", domains)
	fmt.Println(account.Params())
	// Output:
	// databases: 10
	// domains: 25
	// map[limit_db:10 limit_domains:25]
}

func ExampleCatalog_SelectModules() {
	c := billing.NewCatalog()
	// Data centers first: a module names the data center it belongs to.
	for _, d := range []*billing.DataCenter{
		{Name: "Frankfurt", DCImanager6: true, LocationID: 2, SortOrder: 1},
		{Name: "Amsterdam", SortOrder: 2},
	} {
		if err := c.AddDataCenter(d); err != nil {
			fmt.Println(err)
			return
		}
	}
	for _, m := range []*billing.Module{
		{Kind: billing.KindDCImanager5, Name: "dci-backup", URL: "https://dci2.example.com", Username: "admin", Password: "pw", SortOrder: 20, DataCenter: "Amsterdam"},
		{Kind: billing.KindDCImanager6, Name: "dci6-main", URL: "https://dci6.example.com", Username: "admin@example.com", Password: "pw", SortOrder: 30, DataCenter: "Frankfurt"},
		{Kind: billing.KindDCImanager5, Name: "dci-alt", URL: "https://dci3.example.com", Username: "admin", Password: "pw", SortOrder: 5, DataCenter: "Amsterdam"},
	} {
		if err := c.AddModule(m); err != nil {
			fmt.Println(err)
			return
		}
	}
	tariff := &billing.Tariff{
		ID: 1, Name: "E3 server", ProductType: billing.ProductDedicatedServer,
		Modules: []string{"dci-backup", "dci6-main", "dci-alt"}, ServerConfig: "E3-1230",
	}
	if err := c.AddTariff(tariff); err != nil {
		fmt.Println(err)
		return
	}
	// Try the modules in this order (data center sort order first, then
	// module sort order); the next one is used when the previous one
	// cannot serve the order.
	for _, m := range c.SelectModules(tariff) {
		fmt.Println(m.DataCenter, m.SortOrder, m.Name)
	}
	// The DCImanager 6 location is held once, by the data center.
	loc, err := c.LocationID("dci6-main")
	fmt.Println("dci6-main location:", loc, err)
	// A module's server type cannot change while a tariff uses it.
	err = c.SetNewServerType("dci-alt", true)
	fmt.Println(err)
	// Output:
	// Frankfurt 30 dci6-main
	// Amsterdam 5 dci-alt
	// Amsterdam 20 dci-backup
	// dci6-main location: 2 <nil>
	// billing: cannot change NewServerType: processing module "dci-alt" is used by tariff(s) 1
}

func ExampleTariff_Resolve() {
	tariff := &billing.Tariff{
		ID: 5, Name: "E3 server", ProductType: billing.ProductDedicatedServer,
		Modules: []string{"dci"}, ServerConfig: "E3-1230",
		OSTemplate: "ISPsystem__Debian-10-x86_64",
	}
	// Options chosen by the customer; "ostemplate" beats "os".
	opts, err := billing.ParseOrderOptions(map[string]string{
		"os":         "ISPsystem__Debian-10-x86_64",
		"ostemplate": "ISPsystem__CentOS-7-amd64",
		"IP":         "2",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	order, err := tariff.Resolve(opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(order.ServerConfig, order.OSTemplate, order.Recipe, order.ExtraIPv4, order.ExtraIPv6, order.IPGroup)

	_, err = billing.ParseOrderOptions(map[string]string{"IPv6": "-1"})
	fmt.Println(err)
	// Output:
	// E3-1230 ISPsystem__CentOS-7-amd64 null 2 0 public
	// billing: order option IPv6="-1": must be a non-negative decimal integer
}

func ExampleUniqueName() {
	existing := map[string]bool{"user_665": true, "user_6651": true}
	name, err := billing.UniqueName(context.Background(), "user_665", billing.MaxUsernameLen,
		func(_ context.Context, name string) (bool, error) { return existing[name], nil })
	fmt.Println(name, err)
	// Output:
	// user_6652 <nil>
}

func ExampleService_Transition() {
	s := &billing.Service{ID: 117, Status: billing.StatusOrdered}
	for _, to := range []billing.Status{billing.StatusProcessing, billing.StatusActive, billing.StatusSuspended, billing.StatusActive} {
		ev, err := s.Transition(to, s.UpdatedAt)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(ev.From, "->", ev.To, ev.Type)
	}
	_, err := s.Transition(billing.StatusOrdered, s.UpdatedAt)
	fmt.Println(err)
	// Output:
	// Ordered -> Processing processing
	// Processing -> Active welcome
	// Active -> Suspended suspended
	// Suspended -> Active activated
	// billing: service 117: illegal status transition "Active" -> "Ordered"
}

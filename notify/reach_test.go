package notify

import (
	"net/netip"
	"testing"
)

func TestReachCheckAddr(t *testing.T) {
	for addr, public := range map[string]bool{
		"8.8.8.8": true, "2606:4700:4700::1111": true, "93.184.215.14": true,
		"127.0.0.1": false, "::1": false, "169.254.169.254": false, "::ffff:169.254.169.254": false, "::ffff:10.1.2.3": false,
		"10.1.2.3": false, "172.31.0.1": false, "192.168.0.1": false, "100.64.0.1": false, "0.0.0.0": false, "::": false,
		"fd12::1": false, "fe80::1": false, "64:ff9b::a9fe:a9fe": false, "2002:a9fe:a9fe::1": false, "255.255.255.255": false,
		"224.0.0.1": false, "ff02::1": false, "198.18.0.1": false,
	} {
		if err := (Reach{}).CheckAddr(netip.MustParseAddr(addr)); (err == nil) != public {
			t.Errorf("%s: %v; want public %v", addr, err, public)
		}
	}
	allow := Reach{Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	if allow.CheckAddr(netip.MustParseAddr("10.9.9.9")) != nil || allow.CheckAddr(netip.MustParseAddr("::ffff:10.9.9.9")) != nil {
		t.Error("a listed network is refused")
	}
	if allow.CheckAddr(netip.MustParseAddr("192.168.0.1")) == nil {
		t.Error("listing one network opened another")
	}
}

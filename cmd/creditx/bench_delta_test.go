package main

import (
	"strings"
	"testing"
)

// TestSNMPUDPOut reads OutDatagrams from the Udp lines of /proc/net/snmp
// and answers -1 for anything else.
func TestSNMPUDPOut(t *testing.T) {
	const snmp = "Ip: Forwarding DefaultTTL\nIp: 1 64\n" +
		"Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors\nUdp: 7565994 223420 1742 7693794 1742\n" +
		"UdpLite: InDatagrams NoPorts InErrors OutDatagrams\nUdpLite: 0 0 0 5\n"
	for _, c := range []struct {
		in   string
		want int64
	}{
		{snmp, 7693794},
		{"", -1},
		{"Udp: InDatagrams OutDatagrams\n", -1},
		{"Udp: InDatagrams OutDatagrams\nUdp: 1 x\n", -1},
		{"Udp: InDatagrams\nUdp: 1\n", -1},
	} {
		if got := snmpUDPOut([]byte(c.in)); got != c.want {
			t.Errorf("snmpUDPOut(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

// TestDeltaReportRedials: the report names the connections redialled in the
// idle window and in the whole run (each a new QUIC connection and TLS
// handshake; issue 20's loop long-poll bug showed as thousands of them).
func TestDeltaReportRedials(t *testing.T) {
	r := deltaReport{N: 3, Converged: true, Redials: 5135, IdleRedials: 7}
	if s := r.String(); !strings.Contains(s, "7 connections redialled (5135 in the whole run)") {
		t.Errorf("report without the redials:\n%s", s)
	}
}

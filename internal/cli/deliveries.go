package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"text/tabwriter"

	"github.com/callplane/callplane/internal/admin"
)

func runDeliveries(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("deliveries", "List recent notification deliveries of a running callplane, newest first:\nwhat was sent where, how often, and what the bot answered.", stderr)
	connect := adminFlags(fs)
	callID := fs.String("call", "", "only this call's notifications")
	callback := fs.String("callback", "", "only notifications to this callback URI")
	status := fs.String("status", "", "only pending, delivered or failed ones")
	limit := fs.Int("limit", 50, "at most this many")
	asJSON := fs.Bool("json", false, "print the admin API's JSON, payloads included")
	if err := parse(fs, args); err != nil {
		return err
	}
	client, err := connect()
	if err != nil {
		return err
	}
	q := url.Values{"limit": {strconv.Itoa(*limit)}}
	for k, v := range map[string]string{"call": *callID, "callback": *callback, "status": *status} {
		if v != "" {
			q.Set(k, v)
		}
	}
	body, err := client.do(http.MethodGet, "/callplane/deliveries?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	if *asJSON {
		_, err := stdout.Write(body)
		return err
	}
	var list admin.DeliveryList
	if err := json.Unmarshal(body, &list); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tCREATED\tCALL\tCHANGE\tSTATUS\tATTEMPTS\tLAST\tNEXT RETRY\tLAST ERROR")
	for _, d := range list.Value {
		change := d.ChangeType
		if d.State != "" {
			change += "/" + d.State
		}
		last, next := "-", "-"
		if d.LastStatusCode != 0 {
			last = strconv.Itoa(d.LastStatusCode)
		}
		if d.NextAttemptAt != nil {
			next = d.NextAttemptAt.Local().Format("15:04:05.000")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", d.Seq, d.CreatedAt.Local().Format("15:04:05.000"),
			d.CallID, change, d.Status, d.Attempts, last, next, d.LastError)
	}
	return tw.Flush()
}

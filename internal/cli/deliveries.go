package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/callplane/callplane/internal/admin"
	"github.com/callplane/callplane/internal/server"
)

func runDeliveries(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("deliveries", "List recent notification deliveries of a running callplane, newest first:\nwhat was sent where, how often, and what the bot answered.", stderr)
	data := fs.String("data", server.Defaults().DataDir, "data directory of the running callplane (holds its address and admin credential)")
	base := fs.String("url", "", "base URL of callplane (default: the one that runs on --data)")
	callID := fs.String("call", "", "only this call's notifications")
	callback := fs.String("callback", "", "only notifications to this callback URI")
	status := fs.String("status", "", "only pending, delivered or failed ones")
	limit := fs.Int("limit", 50, "at most this many")
	asJSON := fs.Bool("json", false, "print the admin API's JSON, payloads included")
	if err := parse(fs, args); err != nil {
		return err
	}
	id, err := server.OpenIdentity(*data)
	if err != nil {
		return err
	}
	if *base == "" {
		*base = server.RunningURL(*data)
	}
	q := url.Values{"limit": {strconv.Itoa(*limit)}}
	for k, v := range map[string]string{"call": *callID, "callback": *callback, "status": *status} {
		if v != "" {
			q.Set(k, v)
		}
	}
	req, err := http.NewRequest(http.MethodGet, strings.TrimSuffix(*base, "/")+"/callplane/deliveries?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+id.Directory.AdminSecret())
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("is callplane running at %s? %w", *base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, body)
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

// Package scenario reads, runs and judges scenario files: a description of
// the world around a calling bot under test and of what the bot must do in
// it.
//
// A scenario file (NAME.scenario.yaml, or NAME.scenario.json: JSON is read
// as the YAML it is) holds one mapping:
//
//	name: IVR routes a caller to sales   # required
//	description: free text
//	timeout: 30s                         # bound of the run (default 30s)
//	bot: {application: CLIENT_ID, webhook: URL}
//	people:                              # simulated people, how they answer
//	  - id: alice                        # user id or +E164 number
//	    answer: auto                     # auto | busy | decline | noAnswer
//	    delay: 1s
//	    script:                          # what they do on their calls
//	      - {on: promptFinished, after: 500ms, press: "1"}
//	faults:                              # fault rules, passed as they are
//	  - {kind: graph, method: POST, path: /communications/calls, status: 429, times: 2}
//	meetings:
//	  - {name: standup, people: [alice, bob], inviteBot: true, at: 0s}
//	calls:                               # incoming calls to the bot
//	  - {name: first, from: "user:alice", to: app, at: 0s, hangupAfter: 20s}
//	expect:                              # required, at least one
//	  - answers: {within: 2s}
//	  - transfers: {to: "+14255550199"}
//	    call: first                      # only about this call or meeting
//
// The expectations are answers, playsPrompt, subscribesToTone, transfers,
// records, hangsUp, keepsAlive, acknowledges, rejects and redirects (see
// Kind). Without call, an expectation is about every call of the scenario
// and every meeting that invites the bot.
//
// Parse checks a file as strictly as a configuration: unknown keys, bad
// values and dangling names are all reported at once, each with its line.
// Run applies the world to a running callplane through a Simulator, places
// the calls, waits for them to end, and hands what callplane recorded to
// Evaluate, whose Report is written as text for a person or as JUnit XML
// for CI.
package scenario

using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SharpSeg.Cli.Tests;

/// <summary>
/// Fact that runs only where Debian's Chromium is installed, and fails instead of skipping when
/// <c>SHARPSEG_REQUIRE_BROWSER=1</c> (CI installs it), so a missing browser can never pass silently there.
/// </summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (!File.Exists(HeadlessChromium.ExecutablePath) && Environment.GetEnvironmentVariable("SHARPSEG_REQUIRE_BROWSER") != "1")
            Skip = $"{HeadlessChromium.ExecutablePath} is not installed (apt-get install chromium); set SHARPSEG_REQUIRE_BROWSER=1 to fail instead.";
    }
}

/// <summary>What a page did when rendered: its console and runtime errors, and the rendered size of every svg and img.</summary>
public sealed record RenderedPage(IReadOnlyList<string> Errors, IReadOnlyList<(string Element, double Width, double Height, double NaturalWidth)> Elements);

/// <summary>
/// Renders a local HTML file in headless Chromium driven over the DevTools protocol (a WebSocket from
/// <c>--remote-debugging-port=0</c>), with bounded waits; the browser is killed whatever happens.
/// </summary>
public static class HeadlessChromium
{
    public const string ExecutablePath = "/usr/bin/chromium";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static async Task<RenderedPage> RenderAsync(string htmlPath)
    {
        string profile = Directory.CreateTempSubdirectory("sharpseg-chromium-").FullName;
        var start = new ProcessStartInfo(ExecutablePath)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string flag in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--remote-debugging-port=0", $"--user-data-dir={profile}", "about:blank" })
            start.ArgumentList.Add(flag);
        using var browser = Process.Start(start) ?? throw new InvalidOperationException($"{ExecutablePath} did not start.");
        browser.OutputDataReceived += (_, _) => { };
        browser.ErrorDataReceived += (_, _) => { };
        browser.BeginOutputReadLine();
        browser.BeginErrorReadLine();
        using var deadline = new CancellationTokenSource(Timeout);
        try
        {
            var endpoint = await DevToolsEndpoint(profile, browser, deadline.Token);
            using var socket = new ClientWebSocket();
            await socket.ConnectAsync(endpoint, deadline.Token);
            var session = new Session(socket, deadline.Token);
            var target = await session.Call("Target.createTarget", new JsonObject { ["url"] = "about:blank" });
            var attached = await session.Call("Target.attachToTarget", new JsonObject { ["targetId"] = target["targetId"]!.GetValue<string>(), ["flatten"] = true });
            string id = attached["sessionId"]!.GetValue<string>();
            await session.Call("Runtime.enable", null, id);
            await session.Call("Log.enable", null, id);
            await session.Call("Page.enable", null, id);
            await session.Call("Page.navigate", new JsonObject { ["url"] = new Uri(Path.GetFullPath(htmlPath)).AbsoluteUri }, id);
            await session.WaitFor("Page.loadEventFired");
            const string measure = "JSON.stringify([...document.querySelectorAll('svg, img')].map(e => { const r = e.getBoundingClientRect(); " +
                                   "return [e.tagName.toLowerCase(), r.width, r.height, e.tagName === 'IMG' ? e.naturalWidth : 1]; }))";
            var result = await session.Call("Runtime.evaluate", new JsonObject { ["expression"] = measure, ["returnByValue"] = true }, id);
            var sizes = JsonNode.Parse(result["result"]!["value"]!.GetValue<string>())!.AsArray()
                .Select(e => (e![0]!.GetValue<string>(), e[1]!.GetValue<double>(), e[2]!.GetValue<double>(), e[3]!.GetValue<double>())).ToList();
            return new RenderedPage(session.Errors, sizes);
        }
        finally
        {
            if (!browser.HasExited) browser.Kill(entireProcessTree: true);
            browser.WaitForExit(10_000);
            try { Directory.Delete(profile, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>Chromium writes the port and browser path it chose into <c>DevToolsActivePort</c> in the profile.</summary>
    private static async Task<Uri> DevToolsEndpoint(string profile, Process browser, CancellationToken cancel)
    {
        string file = Path.Combine(profile, "DevToolsActivePort");
        while (true)
        {
            if (browser.HasExited) throw new InvalidOperationException($"{ExecutablePath} exited with {browser.ExitCode} before opening DevTools.");
            if (File.Exists(file) && File.ReadAllLines(file) is [var port, var path, ..] && path.Length > 0)
                return new Uri($"ws://127.0.0.1:{port}{path}");
            await Task.Delay(50, cancel);
        }
    }

    private sealed class Session(ClientWebSocket socket, CancellationToken cancel)
    {
        private int _nextId;

        public List<string> Errors { get; } = [];

        public async Task<JsonNode> Call(string method, JsonObject? parameters, string? sessionId = null)
        {
            int id = ++_nextId;
            var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new JsonObject() };
            if (sessionId is not null) message["sessionId"] = sessionId;
            await socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, cancel);
            while (true)
            {
                var reply = await Receive();
                if (reply["id"]?.GetValue<int>() != id) continue;
                if (reply["error"] is { } error) throw new InvalidOperationException($"DevTools {method} failed: {error.ToJsonString()}");
                return reply["result"]!;
            }
        }

        public async Task WaitFor(string method)
        {
            while ((await Receive())["method"]?.GetValue<string>() != method) { }
        }

        /// <summary>The next message; events that report errors are collected on the way.</summary>
        private async Task<JsonNode> Receive()
        {
            var buffer = new byte[1 << 16];
            using var message = new MemoryStream();
            WebSocketReceiveResult part;
            do
            {
                part = await socket.ReceiveAsync(buffer, cancel);
                if (part.MessageType == WebSocketMessageType.Close) throw new InvalidOperationException("Chromium closed the DevTools connection.");
                message.Write(buffer, 0, part.Count);
            } while (!part.EndOfMessage);
            var node = JsonNode.Parse(message.ToArray())!;
            var parameters = node["params"];
            switch (node["method"]?.GetValue<string>())
            {
                case "Runtime.exceptionThrown":
                    Errors.Add($"exception: {parameters!["exceptionDetails"]!.ToJsonString()}");
                    break;
                case "Runtime.consoleAPICalled" when parameters!["type"]?.GetValue<string>() is "error" or "assert":
                    Errors.Add($"console.{parameters["type"]}: {parameters["args"]!.ToJsonString()}");
                    break;
                case "Log.entryAdded" when parameters!["entry"]!["level"]?.GetValue<string>() == "error":
                    Errors.Add($"log: {parameters["entry"]!.ToJsonString()}");
                    break;
            }
            return node;
        }
    }
}

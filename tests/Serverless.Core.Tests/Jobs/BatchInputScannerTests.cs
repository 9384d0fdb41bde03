using System.Buffers;
using System.Text;
using System.Text.Json;
using Serverless.Core.Jobs;
using Xunit.Abstractions;

namespace Serverless.Core.Tests.Jobs;

public sealed class BatchInputScannerTests(ITestOutputHelper output)
{
    private const string Endpoint = "/v1/chat/completions";

    private static string Line(string customId, int bodyPadding = 0, string url = Endpoint) =>
        JsonSerializer.Serialize(new
        {
            custom_id = customId,
            method = "POST",
            url,
            body = new { model = "demo", messages = new[] { new { role = "user", content = new string('p', bodyPadding) } } },
        });

    private sealed record Scanned(BatchScan Scan, List<(int Index, string CustomId, string Body)> Valid, List<JsonElement> Invalid, List<int> InvalidSizes);

    private static async Task<Scanned> ScanAsync(string input, int maxCustomIdLength = 64, int maxLines = 1000)
    {
        var valid = new List<(int, string, string)>();
        var invalid = new List<JsonElement>();
        var sizes = new List<int>();
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(input));
        var scan = await new BatchInputScanner("batch_test", Endpoint, 4 * 1024 * 1024, maxCustomIdLength, maxLines).ScanAsync(
            stream,
            (index, id, body) =>
            {
                valid.Add((index, id, Encoding.UTF8.GetString(body.ToArray())));
                return ValueTask.CompletedTask;
            },
            entry =>
            {
                sizes.Add(entry.Length);
                invalid.Add(JsonDocument.Parse(entry).RootElement.GetProperty("line").Clone());
                return ValueTask.CompletedTask;
            });
        return new Scanned(scan, valid, invalid, sizes);
    }

    [Fact]
    public async Task Valid_lines_pass_with_their_body_exactly_as_written_and_each_kind_of_bad_line_gets_its_code()
    {
        string input = string.Join("\n",
            Line("a"),
            "{\"custom_id\":\"b\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{ \"model\" : \"demo\",\"x\":[1,{\"y\":2}] },\"extra\":{\"z\":[]}}",
            Line("a"),
            "{\"custom_id\":\"c\",\"method\":\"GET\",\"url\":\"/v1/chat/completions\",\"body\":{}}",
            Line("d", url: "/v1/embeddings"),
            "{\"custom_id\":\"e\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":[]}",
            "{\"method\":\"POST\"}",
            "{\"custom_id\":\"f\"",
            "[1,2]",
            "{\"custom_id\":\"g\"} trailing",
            "   ",
            Line(new string('i', 65)));

        var scanned = await ScanAsync(input);

        Assert.Equal(new BatchScan(11, 9, 8, false), scanned.Scan);
        Assert.Equal([(0, "a"), (1, "b")], scanned.Valid.Select(v => (v.Index, v.CustomId)));
        Assert.Equal("{ \"model\" : \"demo\",\"x\":[1,{\"y\":2}] }", scanned.Valid[1].Body);
        Assert.Equal(
            ["duplicate_custom_id", "invalid_method", "invalid_url", "invalid_body", "missing_custom_id", "invalid_json_line", "invalid_json_line", "invalid_json_line", "custom_id_too_long"],
            scanned.Invalid.Select(e => e.GetProperty("error").GetProperty("code").GetString()));
        Assert.Equal(JsonValueKind.Null, scanned.Invalid[^1].GetProperty("custom_id").ValueKind);
        Assert.StartsWith("Line 12: The custom_id is longer than 64 characters", scanned.Invalid[^1].GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_megabyte_custom_id_repeated_on_every_line_gives_short_error_lines_that_do_not_echo_it()
    {
        string id = new('x', 1024 * 1024);
        string input = string.Join("\n", Enumerable.Repeat(Line(id), 8));

        var scanned = await ScanAsync(input);

        Assert.Equal(8, scanned.Scan.Invalid);
        Assert.All(scanned.InvalidSizes, size => Assert.InRange(size, 1, 1024));
        Assert.All(scanned.Invalid, e => Assert.Equal("custom_id_too_long", e.GetProperty("error").GetProperty("code").GetString()));
    }

    [Fact]
    public async Task The_cap_counts_characters_of_the_decoded_custom_id()
    {
        // 64 characters, each written as a six-byte escape, are within the cap; 65 are not.
        string escaped = string.Concat(Enumerable.Repeat("\\u00e9", 64));
        string input = $"{{\"custom_id\":\"{escaped}\",\"method\":\"POST\",\"url\":\"{Endpoint}\",\"body\":{{}}}}\n" +
            $"{{\"custom_id\":\"{escaped}\\u00e9\",\"method\":\"POST\",\"url\":\"{Endpoint}\",\"body\":{{}}}}";

        var scanned = await ScanAsync(input);

        Assert.Equal(new string('\u00e9', 64), Assert.Single(scanned.Valid).CustomId);
        Assert.Equal("custom_id_too_long", Assert.Single(scanned.Invalid).GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task More_lines_than_allowed_stop_the_scan()
    {
        var scanned = await ScanAsync(string.Join("\n", Enumerable.Range(0, 5).Select(i => Line($"r{i}"))), maxLines: 3);
        Assert.True(scanned.Scan.TooManyLines);
        Assert.Equal(3, scanned.Valid.Count);
    }

    [Fact]
    public async Task Scanning_a_large_input_allocates_far_less_than_its_size()
    {
        // About 48 MB generated as it is read: megabyte custom_ids (the reported attack), repeated ids with large
        // bodies, broken JSON, and valid lines. The scan runs synchronously on this thread (the stream completes every
        // read at once), so this thread's allocation counter sees all of its work.
        byte[][] lines =
        [
            Encoding.UTF8.GetBytes(Line(new string('x', 1024 * 1024)) + "\n"),
            Encoding.UTF8.GetBytes(Line("same", 256 * 1024) + "\n"),
            Encoding.UTF8.GetBytes("{\"custom_id\":\"broken\",\"body\":{\"a\":\"" + new string('b', 256 * 1024) + "\"\n"),
        ];
        const int Rounds = 36;
        long inputBytes = 0;
        long validBytes = 0;
        int invalidEntries = 0;
        long invalidBytes = 0;

        async Task<BatchScan> RunAsync(int rounds)
        {
            int unique = 0;
            var source = new GeneratedStream(rounds, i => i % 4 == 3
                ? Encoding.UTF8.GetBytes(Line($"v{unique++}", 1024) + "\n")
                : lines[i % 4]);
            var scan = await new BatchInputScanner("batch_test", Endpoint, 4 * 1024 * 1024, 64, 50_000).ScanAsync(
                source,
                (_, _, body) =>
                {
                    validBytes += body.Length;
                    return ValueTask.CompletedTask;
                },
                entry =>
                {
                    invalidEntries++;
                    invalidBytes += entry.Length;
                    return ValueTask.CompletedTask;
                });
            inputBytes = source.Produced;
            return scan;
        }

        // Warm up: pools, JIT.
        await RunAsync(8);
        validBytes = 0;
        invalidEntries = 0;
        invalidBytes = 0;
        long before = GC.GetAllocatedBytesForCurrentThread();
        var scan = await RunAsync(Rounds * 4);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        output.WriteLine($"scanned {inputBytes} bytes, allocated {allocated} bytes on the scanning thread, error entries {invalidBytes} bytes");
        Assert.True(inputBytes > 40_000_000, $"input {inputBytes}");
        Assert.Equal(Rounds * 4, scan.Total);
        Assert.Equal(Rounds * 3 - 1, scan.Invalid);
        Assert.True(invalidBytes < Rounds * 3 * 1024, $"error entries {invalidBytes} bytes");
        Assert.True(allocated < inputBytes / 20, $"allocated {allocated} bytes to scan {inputBytes}");
    }

    /// <summary>A read-only stream of lines made on demand; every read completes at once.</summary>
    private sealed class GeneratedStream(int count, Func<int, byte[]> line) : Stream
    {
        private int _next;
        private byte[] _current = [];
        private int _offset;

        public long Produced { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => Produced;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_offset == _current.Length)
            {
                if (_next == count)
                {
                    return 0;
                }

                _current = line(_next++);
                _offset = 0;
            }

            int n = Math.Min(buffer.Length, _current.Length - _offset);
            _current.AsSpan(_offset, n).CopyTo(buffer);
            _offset += n;
            Produced += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Task.FromResult(Read(buffer.AsSpan(offset, count)));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

public sealed class BatchLinesTests
{
    [Fact]
    public void An_error_line_cuts_a_long_message_to_the_bound()
    {
        var line = BatchLines.Error("batch_abc", 0, "id", "code", new string('m', 100_000));
        var message = JsonDocument.Parse(line).RootElement.GetProperty("error").GetProperty("message").GetString()!;
        Assert.Equal(BatchLines.MaxErrorMessageLength, message.Length);
        Assert.EndsWith("\u2026", message, StringComparison.Ordinal);
        Assert.True(line.Length < 2 * BatchLines.MaxErrorMessageLength);
    }
}

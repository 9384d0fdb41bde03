using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Serverless.Core.Inference;

namespace Serverless.Core.Tests.Inference;

public sealed class CompletionWriterTests
{
    private static async Task<string[]> StreamEvents(CompletionKind kind, bool includeUsage, params string[] pieces)
    {
        var pipe = new Pipe();
        var writer = new CompletionWriter(kind, "id-1", 1700000000, "demo \"quoted\"", includeUsage);
        writer.WriteRoleChunk(pipe.Writer);
        foreach (var piece in pieces)
        {
            writer.WritePieceChunk(pipe.Writer, piece);
        }

        writer.WriteFinish(pipe.Writer, FinishReason.Length, 5, pieces.Length);
        CompletionWriter.WriteDone(pipe.Writer);
        await pipe.Writer.CompleteAsync();
        var result = await pipe.Reader.ReadAsync();
        string text = Encoding.UTF8.GetString(result.Buffer.ToArray());
        return text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
    }

    [Fact]
    public async Task Chat_stream_chunks_are_valid_json_carrying_each_piece_then_finish_usage_and_done()
    {
        var events = await StreamEvents(CompletionKind.Chat, includeUsage: true, " a\"b", "\n☃ 😀");
        Assert.Equal("data: [DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e["data: ".Length..]).RootElement).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        Assert.All(chunks, c => Assert.Equal("demo \"quoted\"", c.GetProperty("model").GetString()));
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        Assert.Equal(" a\"b", chunks[1].GetProperty("choices")[0].GetProperty("delta").GetProperty("content").GetString());
        Assert.Equal("\n☃ 😀", chunks[2].GetProperty("choices")[0].GetProperty("delta").GetProperty("content").GetString());
        Assert.Equal(JsonValueKind.Null, chunks[1].GetProperty("usage").ValueKind);
        Assert.Equal("length", chunks[3].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(0, chunks[4].GetProperty("choices").GetArrayLength());
        Assert.Equal(7, chunks[4].GetProperty("usage").GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task Text_completion_stream_has_no_role_chunk_and_no_usage_unless_asked()
    {
        var events = await StreamEvents(CompletionKind.Text, includeUsage: false, "x");
        Assert.Equal(3, events.Length);
        var first = JsonDocument.Parse(events[0]["data: ".Length..]).RootElement;
        Assert.Equal("text_completion", first.GetProperty("object").GetString());
        Assert.Equal("x", first.GetProperty("choices")[0].GetProperty("text").GetString());
        Assert.False(first.TryGetProperty("usage", out _));
    }

    [Fact]
    public void Whole_chat_completion_has_message_finish_reason_and_usage()
    {
        var buffer = new ArrayBufferWriter<byte>();
        new CompletionWriter(CompletionKind.Chat, "chatcmpl-1", 1, "demo", false)
            .WriteCompletion(buffer, new StoredCompletion(CompletionKind.Chat, "chatcmpl-1", 1, "demo", "req_1") { Text = "hello", Finish = FinishReason.Stop, PromptTokens = 3, CompletionTokens = 4 });
        var root = JsonDocument.Parse(buffer.WrittenMemory).RootElement;
        Assert.Equal("chat.completion", root.GetProperty("object").GetString());
        var choice = root.GetProperty("choices")[0];
        Assert.Equal("hello", choice.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        var usage = root.GetProperty("usage");
        Assert.Equal(3, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(4, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(7, usage.GetProperty("total_tokens").GetInt32());
    }
}

using System.Diagnostics;
using System.Text.Json;
using Json.Schema;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Service;

/// <summary>The official npm <c>openai</c> package against the local host: completions (plain and streamed), chat, structured outputs, tools, models.</summary>
[Collection(ServiceTestGroup.Name)]
public sealed class OpenAiNodeSdkTests(ServiceFixture service)
{
    [Fact]
    public async Task Npm_openai_client_completes_streams_chats_lists_models_and_rejects_a_wrong_key()
    {
        // Run from its place in the repository so that ESM resolution finds the repository's node_modules.
        string script = Path.Combine(RepositoryRoot.Path, "tests", "Serverless.Integration.Tests", "node", "openai-client.mjs");
        var start = new ProcessStartInfo("node", [script, new Uri(service.BaseAddress, "/v1").ToString(), service.ApiKey])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        Assert.True(process.ExitCode == 0, await stderr);

        var result = JsonDocument.Parse(await stdout).RootElement;
        var completion = result.GetProperty("completion");
        Assert.Equal("text_completion", completion.GetProperty("object").GetString());
        Assert.False(string.IsNullOrEmpty(completion.GetProperty("text").GetString()));
        int completionTokens = completion.GetProperty("usage").GetProperty("completion_tokens").GetInt32();
        Assert.InRange(completionTokens, 1, 16);

        var streamed = result.GetProperty("completionStream");
        Assert.Equal(completion.GetProperty("text").GetString(), streamed.GetProperty("text").GetString());
        Assert.Equal(completionTokens, streamed.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.True(streamed.GetProperty("chunks").GetInt32() > 2);

        Assert.False(string.IsNullOrEmpty(result.GetProperty("chat").GetProperty("text").GetString()));
        Assert.Contains("demo", result.GetProperty("models").EnumerateArray().Select(m => m.GetString()));
        Assert.Equal("AuthenticationError:401", result.GetProperty("wrongKey").GetString());

        var structured = result.GetProperty("structured");
        Assert.Equal("stop", structured.GetProperty("finish").GetString());
        AssertValid(structured.GetProperty("schema"), structured.GetProperty("content").GetString()!);

        var tools = result.GetProperty("tools");
        Assert.Equal("tool_calls", tools.GetProperty("finish").GetString());
        var call = Assert.Single(tools.GetProperty("calls").EnumerateArray());
        Assert.Equal("function", call.GetProperty("type").GetString());
        Assert.Equal("get_weather", call.GetProperty("name").GetString());
        AssertValid(tools.GetProperty("schema"), call.GetProperty("arguments").GetString()!);

        var toolStream = result.GetProperty("toolStream");
        Assert.Equal("tool_calls", toolStream.GetProperty("finish").GetString());
        var streamedCall = Assert.Single(toolStream.GetProperty("calls").EnumerateArray());
        Assert.Equal("get_weather", streamedCall.GetProperty("name").GetString());
        Assert.Equal(call.GetProperty("arguments").GetString(), streamedCall.GetProperty("arguments").GetString());
    }

    private static void AssertValid(JsonElement schema, string json)
    {
        var result = JsonSchema.FromText(schema.GetRawText()).Evaluate(JsonDocument.Parse(json).RootElement);
        Assert.True(result.IsValid, $"{json} is not valid against {schema.GetRawText()}");
    }
}

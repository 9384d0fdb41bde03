using System.ClientModel;
using System.Text;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Models;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Service;

/// <summary>The official OpenAI .NET SDK against the local host over real HTTP.</summary>
[Collection(ServiceTestGroup.Name)]
public sealed class OpenAiDotnetSdkTests(ServiceFixture service)
{
    private OpenAIClientOptions Options => new() { Endpoint = new Uri(service.BaseAddress, "/v1"), NetworkTimeout = TimeSpan.FromMinutes(1) };

    private ChatClient Chat(string? key = null) => new("demo", new ApiKeyCredential(key ?? service.ApiKey), Options);

    private static readonly ChatMessage[] Conversation =
    [
        new SystemChatMessage("You are a storyteller."),
        new UserChatMessage("Tell me about the river."),
    ];

    [Fact]
    public async Task Chat_completion_returns_assistant_text_finish_reason_and_usage()
    {
        ChatCompletion completion = await Chat().CompleteChatAsync(Conversation, new ChatCompletionOptions { MaxOutputTokenCount = 12, Temperature = 0 });

        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.False(string.IsNullOrWhiteSpace(completion.Content[0].Text));
        Assert.StartsWith("chatcmpl-", completion.Id, StringComparison.Ordinal);
        Assert.Equal("demo", completion.Model);
        Assert.True(completion.Usage.InputTokenCount > 0);
        Assert.InRange(completion.Usage.OutputTokenCount, 1, 12);
        Assert.Equal(completion.Usage.InputTokenCount + completion.Usage.OutputTokenCount, completion.Usage.TotalTokenCount);
        Assert.Equal(completion.Usage.OutputTokenCount == 12 ? ChatFinishReason.Length : ChatFinishReason.Stop, completion.FinishReason);
    }

    [Fact]
    public async Task Streaming_chat_yields_the_same_text_and_usage_as_the_whole_response_at_temperature_zero()
    {
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 40, Temperature = 0 };
        ChatCompletion whole = await Chat().CompleteChatAsync(Conversation, options);

        var streamed = new StringBuilder();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        int updates = 0;
        await foreach (var update in Chat().CompleteChatStreamingAsync(Conversation, options))
        {
            updates++;
            foreach (var part in update.ContentUpdate)
            {
                streamed.Append(part.Text);
            }

            usage ??= update.Usage;
            finish ??= update.FinishReason;
        }

        Assert.Equal(whole.Content[0].Text, streamed.ToString());
        Assert.True(updates > 3, "tokens arrive as separate chunks");
        Assert.NotNull(usage);
        Assert.Equal(whole.Usage.InputTokenCount, usage.InputTokenCount);
        Assert.Equal(whole.Usage.OutputTokenCount, usage.OutputTokenCount);
        Assert.Equal(whole.FinishReason, finish);
    }

    [Fact]
    public async Task Models_list_has_the_configured_models()
    {
        var client = new OpenAIModelClient(new ApiKeyCredential(service.ApiKey), Options);
        OpenAIModelCollection models = await client.GetModelsAsync();
        Assert.Contains(models, m => m.Id == "demo" && m.OwnedBy == "serverless");
        Assert.Contains(models, m => m.Id == "local-demo");

        OpenAIModel one = await client.GetModelAsync("demo");
        Assert.Equal("demo", one.Id);
    }

    [Fact]
    public async Task Wrong_key_surfaces_as_the_sdks_authentication_error()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() =>
            Chat("sk-svl-not-a-real-key").CompleteChatAsync(Conversation, new ChatCompletionOptions { MaxOutputTokenCount = 1 }));
        Assert.Equal(401, error.Status);
        Assert.Contains("invalid_api_key", error.Message, StringComparison.Ordinal);
    }
}

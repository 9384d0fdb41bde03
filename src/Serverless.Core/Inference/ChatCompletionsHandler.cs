using Serverless.Core.Http;
using Serverless.Core.Keys;

namespace Serverless.Core.Inference;

/// <summary>POST /v1/chat/completions.</summary>
public sealed class ChatCompletionsHandler(CompletionService completions) : IApiHandler
{
    public static readonly ApiRoute Route = new("ChatCompletions", "POST", "/v1/chat/completions", ApiAuth.ApiKey, typeof(ChatCompletionsHandler)) { Permission = ApiKeyPermissions.Inference };

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        using var body = await JsonBody.ReadWithHashAsync(call.Http.Request, completions.MaxRequestBodyBytes, call.Aborted);
        var request = GenerationRequestParser.ParseChat(body.Root);
        await completions.RunAsync(call, CompletionKind.Chat, request.Options, body.Sha256, PromptText.Chat(request));
    }
}

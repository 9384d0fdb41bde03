using Serverless.Core.Http;
using Serverless.Core.Keys;

namespace Serverless.Core.Inference;

/// <summary>POST /v1/completions.</summary>
public sealed class CompletionsHandler(CompletionService completions) : IApiHandler
{
    public static readonly ApiRoute Route = new("Completions", "POST", "/v1/completions", ApiAuth.ApiKey, typeof(CompletionsHandler)) { Permission = ApiKeyPermissions.Inference };

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        using var body = await JsonBody.ReadWithHashAsync(call.Http.Request, completions.MaxRequestBodyBytes, call.Aborted);
        var request = GenerationRequestParser.ParseCompletion(body.Root);
        await completions.RunAsync(call, CompletionKind.Text, request.Options, body.Sha256, PromptText.Completion(request));
    }
}

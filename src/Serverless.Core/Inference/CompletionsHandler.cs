using Serverless.Core.Http;

namespace Serverless.Core.Inference;

/// <summary>POST /v1/completions.</summary>
public sealed class CompletionsHandler(CompletionService completions) : IApiHandler
{
    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        using var body = await JsonBody.ReadAsync(call.Http.Request, completions.MaxRequestBodyBytes, call.Aborted);
        var request = GenerationRequestParser.ParseCompletion(body.RootElement);
        await completions.RunAsync(call, CompletionKind.Text, request.Options, model => CompletionService.PromptTokens(model, request));
    }
}

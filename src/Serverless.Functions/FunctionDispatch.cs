using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Serverless.Core.Http;

namespace Serverless.Functions;

/// <summary>Functions hand the whole exchange to the shared dispatcher, which writes the response itself.</summary>
internal static class FunctionDispatch
{
    public static async Task<IActionResult> RunAsync(this ApiDispatcher dispatcher, ApiRoute route, HttpRequest request, string? id = null)
    {
        await dispatcher.InvokeAsync(route, request.HttpContext, id);
        return new EmptyResult();
    }
}

using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.Core.Http;

namespace Serverless.Core.Tests.Http;

/// <summary>A body the server could not read as HTTP is the client's fault: its 4xx, in OpenAI's error shape, never a 500.</summary>
public sealed class ApiDispatcherBodyErrorTests
{
    [Theory]
    [InlineData(StatusCodes.Status400BadRequest, "invalid_request_body")]
    [InlineData(StatusCodes.Status408RequestTimeout, "request_timeout")]
    [InlineData(StatusCodes.Status413PayloadTooLarge, "request_too_large")]
    public async Task A_body_the_server_could_not_read_is_answered_with_its_own_client_error(int status, string code)
    {
        using var services = new ServiceCollection().AddSingleton(new FailingHandler(status)).BuildServiceProvider();
        var dispatcher = new ApiDispatcher(services, null!, null!, TimeProvider.System, NullLogger<ApiDispatcher>.Instance);
        var http = new DefaultHttpContext();
        http.Response.Body = new MemoryStream();

        await dispatcher.InvokeAsync(new ApiRoute("Probe", "POST", "/probe", ApiAuth.None, typeof(FailingHandler)), http);

        Assert.Equal(status, http.Response.StatusCode);
        http.Response.Body.Position = 0;
        using var error = await JsonDocument.ParseAsync(http.Response.Body);
        Assert.Equal(code, error.RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("invalid_request_error", error.RootElement.GetProperty("error").GetProperty("type").GetString());
    }

    private sealed class FailingHandler(int status) : IApiHandler
    {
        public Task HandleAsync(ApiCall call) => throw new BadHttpRequestException("Bad chunk size data.", status);
    }
}

import java.lang.reflect.Field;
import java.util.Locale;
import java.util.Set;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

/**
 * DynamoDB Local for Countersign's local stack: listening on 127.0.0.1 only, and answering only
 * requests addressed to 127.0.0.1:<port> or localhost:<port> (a page reached through DNS
 * rebinding sends its own host name). DynamoDB Local's own main (ServerRunner) makes a Jetty
 * server on every interface and has no option for the address, so this builds the same server
 * from the same command line, sets the address of its connector and wraps its handler before
 * starting it. Run in Java's source-file mode with DynamoDBLocal.jar and DynamoDBLocal_lib on the
 * class path; the arguments are DynamoDB Local's.
 */
public class LoopbackDynamoDbLocal {
  public static void main(String[] args) throws Exception {
    int port = 8000;
    for (int index = 0; index + 1 < args.length; index += 1) {
      if (args[index].equals("-port")) port = Integer.parseInt(args[index + 1]);
    }
    Set<String> allowedHosts = Set.of("127.0.0.1:" + port, "localhost:" + port);

    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    Server jetty = (Server) field.get(proxy);
    Connector[] connectors = jetty.getConnectors();
    if (connectors.length == 0) throw new IllegalStateException("DynamoDB Local has no connector");
    for (Connector connector : connectors) {
      ((ServerConnector) connector).setHost("127.0.0.1");
    }
    jetty.setHandler(
        new Handler.Wrapper(jetty.getHandler()) {
          @Override
          public boolean handle(Request request, Response response, Callback callback)
              throws Exception {
            String host = request.getHeaders().get(HttpHeader.HOST);
            if (host == null || !allowedHosts.contains(host.toLowerCase(Locale.ROOT))) {
              Response.writeError(request, response, callback, 403, "Host not allowed");
              return true;
            }
            return super.handle(request, response, callback);
          }
        });
    proxy.start();
  }
}

from themecoder.cli import app

app(prog_name="themecoder")

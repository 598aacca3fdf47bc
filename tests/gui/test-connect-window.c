/* test-connect-window.c: not written yet. */
int main (void);
int
main (void)
{
  return 77;
}
